"""``pressure``: tasks stalled on a resource (PSI) for a sustained time, host-wide or in one
cgroup, and who is using that resource — the question people ask when a host is slow.

The stall share is the growth of the kernel's cumulative stall time over the trailing
``window`` (``kind`` some: at least one task stalled; full: all non-idle tasks). It must stay at
or above ``threshold`` for ``min_duration``. Users are ranked by CPU time over the window
(cpu), RSS growth then RSS (memory), or uninterruptible sleep at that moment (io). For CPU
pressure the evidence also lists who waited longest for a CPU (run-queue delay from
/proc/PID/schedstat, sampled with the rest): run-queue starvation, per process.
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import Any

from otel_linnix import procfs
from otel_linnix.config.types import parse_duration
from otel_linnix.processors.rules.detectors import NS, Detector, Finding
from otel_linnix.processors.rules.lineage import subject_from
from otel_linnix.records import AlertSubject, PressureSample, ProcessKey, ProcessSample

TOP_USERS = 5
#: Users are re-ranked this often while an alert holds (the ranking reads /proc for io).
RANK_EVERY_NS = 5 * NS
_CONTROLLER = {"cpu": "cpu", "memory": "memory", "io": "blkio"}


def _key(cgroup: str) -> ProcessKey:
    """A finding's key: (0, 0) for the host, (0, crc of the path) for a cgroup."""
    return (0, 0) if cgroup == "/" else (0, zlib.crc32(cgroup.encode()) or 1)


def _heaviest_cgroups(users: list[dict]) -> list[str]:
    """The users' cgroups, the one holding most of the use first."""
    weight: dict[str, float] = {}
    for user in users:
        amount = user.get("cpu_share", user.get("rss_growth_bytes", 1))
        weight[user["cgroup"]] = weight.get(user["cgroup"], 0) + max(0, amount)
    return sorted((c for c in weight if c), key=lambda c: -weight[c])


class Pressure(Detector):
    wants = (PressureSample, ProcessSample)

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.resource = rule["resource"]
        self.kind = rule["kind"]
        if self.resource == "io":  # its users are read from /proc (D state), not from samples
            self.wants = (PressureSample,)
        self.min_duration = int(parse_duration(rule["min_duration"]) * NS)
        self.totals: dict[str, deque[tuple[int, int]]] = {}
        self.above_since: dict[str, int] = {}
        #: Per sampled process: (time, CPU ns, RSS, run-queue delay ns), cumulative.
        self.usage: dict[ProcessKey, deque[tuple[int, int, int, int]]] = {}
        self._ranked: dict[str, tuple[int, list[dict]]] = {}

    def observe(self, rec) -> None:
        if type(rec) is ProcessSample:
            points = self.usage.setdefault(rec.key, deque(maxlen=64))
            points.append((rec.ts_ns, rec.cpu_user_ns + rec.cpu_system_ns, rec.rss_bytes,
                           rec.run_delay_ns))
        elif rec.resource == self.resource:
            total = rec.some_ns if self.kind == "some" else rec.full_ns
            self.totals.setdefault(rec.cgroup, deque(maxlen=512)).append((rec.ts_ns, total))

    def share(self, cgroup: str, now: int) -> float | None:
        """Stall share over the trailing window (None: not a window's worth of data yet)."""
        points = self.totals.get(cgroup)
        if not points:
            return None
        while len(points) > 2 and points[1][0] <= now - self.window:
            points.popleft()
        (t0, v0), (t1, v1) = points[0], points[-1]
        if t1 - t0 < self.window * 0.8:
            return None
        return max(0.0, (v1 - v0) / (t1 - t0))

    def evaluate(self, now):
        self._trim(now)
        out = []
        for cgroup in list(self.totals):
            if not self.scope.everything and not self.scope.admits("", cgroup=cgroup):
                continue
            share = self.share(cgroup, now)
            if share is None or share < self.threshold:
                self.above_since.pop(cgroup, None)
                continue
            since = self.above_since.setdefault(cgroup, now)
            if now - since >= self.min_duration:
                out.append(self._finding(cgroup, share, now - since, now))
        return out

    def _trim(self, now: int) -> None:
        """Forget usage of processes not sampled within the window, and stale cgroups."""
        horizon = now - 2 * self.window
        self.usage = {k: v for k, v in self.usage.items() if v[-1][0] >= horizon}
        for cgroup in [c for c, pts in self.totals.items() if pts[-1][0] < horizon]:
            del self.totals[cgroup]

    def _finding(self, cgroup: str, share: float, lasted: int, now: int) -> Finding:
        users = self._users(cgroup, now)
        subject = AlertSubject()
        if users:
            proc = self.table.get(users[0]["pid"])
            subject = subject_from(proc) if proc else AlertSubject(pid=users[0]["pid"],
                                                                  comm=users[0]["comm"])
            subject.cgroup_path = users[0]["cgroup"] or subject.cgroup_path
        where = "host" if cgroup == "/" else cgroup
        named = ", ".join(f"{u['comm']} ({u['pid']}{', ' + u['cgroup'] if u['cgroup'] else ''})"
                          for u in users[:3])
        message = (f"{self.resource} pressure ({where}): tasks stalled {share:.0%} of the time "
                   f"({self.kind}) for {lasted / NS:.0f}s" + (f"; top users: {named}" if named
                                                              else ""))
        evidence = {"resource": self.resource, "kind": self.kind, "cgroup": cgroup,
                    "stall_share": round(share, 3), "window_s": self.window / NS,
                    "sustained_s": round(lasted / NS, 1), "top_users": users,
                    "cgroups": _heaviest_cgroups(users)}
        if self.resource == "cpu":
            evidence["waiting"] = self.starved(now)
        return Finding(_key(cgroup), subject, message, evidence)

    def _users(self, cgroup: str, now: int) -> list[dict]:
        ranked = self._ranked.get(cgroup)
        if ranked is not None and now - ranked[0] < RANK_EVERY_NS:
            return ranked[1]
        if self.resource == "io":
            candidates = self._io_waiters()
        else:
            candidates = self._by_usage(now)
        users = []
        controller = _CONTROLLER[self.resource]
        for pid, comm, amount in candidates:
            if cgroup != "/" and not procfs.read_cgroup(pid).startswith(cgroup):
                continue  # a cgroup's finding names its own members (cgroup v2 paths)
            path = procfs.read_controller_cgroup(pid, controller)
            users.append({"pid": pid, "comm": comm, "cgroup": path, **amount})
            if len(users) >= TOP_USERS:
                break
        self._ranked[cgroup] = (now, users)
        if len(self._ranked) > 256:
            self._ranked.clear()
        return users

    def _by_usage(self, now: int) -> list[tuple[int, str, dict]]:
        """Sampled processes by CPU share (cpu) or RSS growth, then RSS (memory)."""
        rows: list[tuple[Any, int, str, dict[str, Any]]] = []
        for key, pts in self.usage.items():
            recent = [p for p in pts if p[0] >= now - self.window]
            if len(recent) < 2:
                continue
            (t0, cpu0, rss0, _), (t1, cpu1, rss1, _) = recent[0], recent[-1]
            proc = self.table.peek(key[0])
            comm = proc.comm if proc is not None else ""
            if self.resource == "cpu":
                share = (cpu1 - cpu0) / max(1, t1 - t0)
                rows.append((share, key[0], comm, {"cpu_share": round(share, 3)}))
            else:
                rows.append(((rss1 - rss0, rss1), key[0], comm,
                             {"rss_bytes": rss1, "rss_growth_bytes": rss1 - rss0}))
        rows.sort(key=lambda r: r[0], reverse=True)
        return [(pid, comm, amount) for _, pid, comm, amount in rows]

    def starved(self, now: int) -> list[dict]:
        """The sampled processes that waited longest for a CPU over the window (run-queue
        delay as a share of wall time): the victims of CPU pressure, where the users are its
        cause."""
        rows: list[dict[str, Any]] = []
        for key, pts in self.usage.items():
            recent = [p for p in pts if p[0] >= now - self.window]
            if len(recent) >= 2 and recent[-1][3] > recent[0][3]:
                share = (recent[-1][3] - recent[0][3]) / max(1, recent[-1][0] - recent[0][0])
                proc = self.table.peek(key[0])
                rows.append({"pid": key[0], "comm": proc.comm if proc else "",
                             "wait_share": round(share, 3)})
        return sorted(rows, key=lambda r: -r["wait_share"])[:TOP_USERS]

    @staticmethod
    def _io_waiters() -> list[tuple[int, str, dict]]:
        """Processes in uninterruptible sleep now (mostly waiting on IO)."""
        out = []
        for pid in procfs.pids():
            stat = procfs.read_stat(pid)
            if stat is not None and stat.state == "D":
                out.append((pid, stat.comm, {"state": "D"}))
        return out
