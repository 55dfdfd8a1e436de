"""``oom_kill``: the kernel's OOM killer chose a victim. The alert names it, its memory cgroup
and limit, the cgroup's other top memory holders (from the table's samples, else /proc), and
any memory alert that predicted it.

The kill record arrives while the victim dies, and its exit record (with exe, argv and cgroup
joined by the table) right after: a kill is reported once its exit is in, or after
``SETTLE_NS`` at the latest. The finding lasts ``window``, then the alert resolves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otel_linnix import memcg, procfs
from otel_linnix.containers import identify
from otel_linnix.processors.rules import limits
from otel_linnix.processors.rules.detectors import NS, Detector, Finding, subject_of
from otel_linnix.processors.rules.lineage import bounded_argv
from otel_linnix.records import AlertSubject, OomKill, ProcessExit, ProcessKey

SETTLE_NS = NS // 2
TOP_HOLDERS = 5
#: Kills remembered at once (a kill storm folds into this many alerts; the rest are counted).
MAX_KILLS = 64


@dataclass
class _Kill:
    rec: OomKill
    subject: AlertSubject
    exited: bool = False
    holders: list[dict] = field(default_factory=list)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class OomKillDetector(Detector):
    wants = (OomKill, ProcessExit)

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.kills: dict[ProcessKey, _Kill] = {}
        #: Set by the engine: ids of memory alerts firing for a process key.
        self.predicted_by: Callable[[ProcessKey], list[str]] = lambda key: []

    def observe_many(self, records: list) -> None:
        """Exits matter only while a kill waits for its victim's exit: else skip the batch."""
        if self.kills or type(records[0]) is OomKill:
            for rec in records:
                self.observe(rec)

    def observe(self, rec) -> None:
        if type(rec) is OomKill:
            self._killed(rec)
        elif rec.oom_killed:
            kill = self.kills.get(rec.key)
            if kill is not None:
                kill.exited = True
                cgroup = rec.cgroup_path or kill.rec.memcg
                kill.subject = AlertSubject(
                    pid=rec.pid, start_ns=rec.start_ns, comm=rec.comm, exe=rec.exe,
                    cgroup_path=cgroup, argv=bounded_argv(rec.argv),
                    container_id=kill.subject.container_id or identify(cgroup).container_id)

    def _killed(self, rec: OomKill) -> None:
        if len(self.kills) >= MAX_KILLS:
            self.kills.pop(next(iter(self.kills)))
            self.evicted += 1
        subject = subject_of(self.table, rec.pid, rec.start_ns)
        if not subject.comm:
            subject = AlertSubject(pid=rec.pid, start_ns=rec.start_ns, comm=rec.comm)
        subject.cgroup_path = subject.cgroup_path or rec.memcg
        self.kills[rec.key] = _Kill(rec, subject, holders=self._holders(rec))

    def _holders(self, rec: OomKill) -> list[dict]:
        """The cgroup's top memory holders besides the victim, read at once: the cgroup may
        be gone a moment later."""
        directory = memcg.directory(rec.memcg) if rec.memcg and rec.memcg != "/" else ""
        if not directory:
            return []
        found: list[dict[str, Any]] = []
        for pid in limits.cgroup_members(directory, cap=1024):  # bounded: /proc reads below
            if pid == rec.pid:
                continue
            proc = self.table.peek(pid)
            sample = proc.last_sample if proc is not None else None
            stat = None if sample is not None else procfs.read_stat(pid)
            rss = sample.rss_bytes if sample is not None else (stat.rss_bytes if stat else 0)
            comm = proc.comm if proc is not None else (stat.comm if stat else "")
            found.append({"pid": pid, "comm": comm, "rss_bytes": rss})
        return sorted(found, key=lambda h: -h["rss_bytes"])[:TOP_HOLDERS]

    def evaluate(self, now):
        out = []
        for key, kill in list(self.kills.items()):
            age = now - kill.rec.ts_ns
            if age > self.window:
                del self.kills[key]
            elif kill.exited or age >= SETTLE_NS:
                out.append(self._finding(key, kill))
        return out

    def _finding(self, key: ProcessKey, kill: _Kill) -> Finding:
        rec, subject = kill.rec, kill.subject
        where = f" in {rec.memcg}" if rec.memcg and rec.memcg != "/" else ""
        limit = f" of its {_mib(rec.memory_limit_bytes)} limit" if rec.memory_limit_bytes else ""
        message = (f"OOM killer killed {subject.comm or rec.comm} (pid {rec.pid}){where}: "
                   f"RSS {_mib(rec.rss_bytes)}{limit}")
        if kill.holders:
            message += "; other top holders: " + ", ".join(
                f"{h['comm']} ({h['pid']}, {_mib(h['rss_bytes'])})" for h in kill.holders[:3])
        predicted = self.predicted_by(key)
        if predicted:
            message += f"; predicted by alert {', '.join(predicted)}"
        evidence = {"rss_bytes": rec.rss_bytes, "anon_rss_bytes": rec.anon_rss_bytes,
                    "file_rss_bytes": rec.file_rss_bytes, "shmem_rss_bytes": rec.shmem_rss_bytes,
                    "total_vm_bytes": rec.total_vm_bytes, "oom_score_adj": rec.oom_score_adj,
                    "memcg": rec.memcg, "memory_limit_bytes": rec.memory_limit_bytes,
                    "top_holders": kill.holders, "predicted_by": predicted}
        return Finding(key, subject, message, evidence)
