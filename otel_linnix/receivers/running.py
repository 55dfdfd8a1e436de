"""Processes still running, reported once per lifetime by the receiver that owns them.

A span is made when a lifetime ends; a daemon that runs for weeks would be invisible until
then. So a receiver reports each process once as it passes ``unfinished_after`` (and, when the
agent stops, every process not reported yet), as a ``ProcessRunning`` record that exporters
turn into a span marked unfinished, with the ids its final span will have. "Once" holds across
restarts of the agent too: which lifetimes were reported is saved in the state directory at
shutdown (with the boot id: after a reboot every lifetime is new), so a rollout or a crash loop
does not send the same long-lived processes again and again.

The age is measured on the receiver's own clock: boot time when live, the recording's time in
a replay.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

from otel_linnix.config.types import DURATION, parse_duration
from otel_linnix.proctable import Process, ProcessTable
from otel_linnix.records import ProcessKey, ProcessRunning

log = logging.getLogger(__name__)

NS = 1_000_000_000
#: Live processes are looked over at most this often (record clock), and at least every minute.
MIN_CHECK_NS, MAX_CHECK_NS = NS, 60 * NS


UNFINISHED_SCHEMA = {
    "unfinished_after": {**DURATION, "description":
                         "report a process running longer than this, once, so its span "
                         "(marked otel_linnix.process.unfinished) is exported before it "
                         "exits; 0: never"},
    "unfinished_at_shutdown": {"type": "boolean", "description":
                               "when the agent stops, report every running process not "
                               "reported yet"},
}
UNFINISHED_DEFAULTS = {"unfinished_after": "1h", "unfinished_at_shutdown": True}


def from_config(table: ProcessTable, config: dict, **kwargs) -> RunningReports:
    return RunningReports(table, int(parse_duration(config["unfinished_after"]) * NS),
                          config["unfinished_at_shutdown"], **kwargs)


def running(proc: Process, now_ns: int) -> ProcessRunning:
    return ProcessRunning(proc.pid, proc.original_ppid or proc.ppid, proc.start_ns,
                          proc.parent_start_ns, now_ns, proc.uid, proc.gid, proc.comm, proc.exe,
                          proc.argv, proc.cgroup_path, proc.fork_seen, proc.tree_root,
                          proc.trace_ctx)


class RunningReports:
    def __init__(self, table: ProcessTable, after_ns: int, at_shutdown: bool,
                 in_scope: Callable[[Process], bool] | None = None,
                 state_path: str | None = None, boot_id: str = "") -> None:
        self._table = table
        self._after_ns = after_ns
        self._at_shutdown = at_shutdown
        self._in_scope = in_scope
        self._check_ns = min(MAX_CHECK_NS, max(MIN_CHECK_NS, after_ns // 4))
        self._next_ns = 0
        self._state_path = state_path if after_ns or at_shutdown else None  # (off: no state)
        self._boot_id = boot_id
        #: Live lifetimes already reported (pruned to the live ones at every look).
        self.reported: set[ProcessKey] = self._load()

    def due(self, now_ns: int) -> list[ProcessRunning]:
        """Processes that have run longer than ``unfinished_after`` and were not reported."""
        if not self._after_ns or now_ns < self._next_ns:
            return []
        self._next_ns = now_ns + self._check_ns
        cutoff = now_ns - self._after_ns
        out = self._report([p for p in self._live() if p.start_ns <= cutoff], now_ns)
        if out:
            self._save()  # now, not only at shutdown: an agent killed with SIGKILL keeps it too
        return out

    def final(self, now_ns: int) -> list[ProcessRunning]:
        """At shutdown: every process not reported yet (when ``unfinished_at_shutdown``); what
        was reported is saved for the next start."""
        out = self._report(self._live(), now_ns) if self._at_shutdown else []
        self._save()
        return out

    def _live(self) -> list[Process]:
        procs = self._table.snapshot()
        self.reported &= {p.key for p in procs}  # exited ones will not come back
        if self._in_scope is None:
            return procs
        return [p for p in procs if self._in_scope(p)]

    def _report(self, procs: list[Process], now_ns: int) -> list[ProcessRunning]:
        out = [running(p, now_ns) for p in procs if p.key not in self.reported]
        self.reported.update(r.key for r in out)
        return out

    # ---- across restarts ---------------------------------------------------------------------

    def _load(self) -> set[ProcessKey]:
        if not self._state_path:
            return set()
        try:
            with open(self._state_path, encoding="utf-8") as f:
                saved = json.load(f)
            if saved.get("boot_id") != self._boot_id:
                return set()  # another boot: pids and start ticks mean other processes
            keys = {(int(pid), int(tick)) for pid, tick in saved["reported"]}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s (not a report of running processes: %s)",
                        self._state_path, exc)
            return set()
        return set(list(keys)[:self._table.capacity])

    def _save(self) -> None:
        if not self._state_path:
            return
        tmp = f"{self._state_path}.tmp"
        try:
            os.makedirs(os.path.dirname(self._state_path), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"boot_id": self._boot_id, "reported": sorted(self.reported)}, f)
            os.replace(tmp, self._state_path)
        except OSError as exc:
            log.warning("cannot save which processes were reported running to %s: %s; after "
                        "a restart they will be reported again", self._state_path, exc)
