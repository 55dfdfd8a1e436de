"""Detectors: each watches the record stream for one kind of trouble and reports findings.

All time comes from the records (CLOCK_BOOTTIME ns), so a replayed fixture behaves exactly like
live data. Every per-subject map is capped; evictions are counted by the engine.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from operator import attrgetter

from otel_linnix.config.types import parse_duration, parse_size
from otel_linnix.processors.rules import limits
from otel_linnix.processors.rules.lineage import Lineage, subject_from
from otel_linnix.processors.rules.trend import Urgency, seconds_left, slope, sustained_rise
from otel_linnix.proctable import ProcessTable
from otel_linnix.records import (
    AlertSubject,
    ProcessExit,
    ProcessKey,
    ProcessSample,
    ProcessStart,
    fork_comm,
    process_key,
)

NS = 1_000_000_000
MAX_SUBJECTS = 4096
HOST: ProcessKey = (0, 0)


@dataclass
class Finding:
    key: ProcessKey
    subject: AlertSubject
    message: str
    evidence: dict = field(default_factory=dict)
    #: Set when the finding grades itself (by time left); None: the rule's severity.
    severity: str | None = None


class Scope:
    """Which processes a rule looks at (comm / exe / user / cgroup / container filters)."""

    def __init__(self, spec: dict) -> None:
        self.comm = set(spec.get("comm", ()))
        self.exclude = set(spec.get("exclude_comm", ()))
        self.exe = set(spec.get("exe", ()))
        self.user = set(spec.get("user", ()))
        self.cgroup = re.compile(spec["cgroup"]) if spec.get("cgroup") else None
        self.container = re.compile(spec["container"]) if spec.get("container") else None
        #: No filter at all: detectors may then count without looking at each record.
        self.everything = not (self.comm or self.exclude or self.exe or self.user
                               or self.cgroup or self.container)

    def admits(self, comm: str, exe: str = "", uid: int | None = None, cgroup: str = "",
               container: str = "") -> bool:
        if comm in self.exclude or (self.comm and comm not in self.comm):
            return False
        if self.exe and exe not in self.exe:
            return False
        if self.user and uid not in self.user:
            return False
        if self.cgroup and not self.cgroup.search(cgroup):
            return False
        return not (self.container and not self.container.search(container))


_PARENT = attrgetter("ppid", "parent_start_ns")
_START = attrgetter("start_ns")
_EXIT = attrgetter("exit_ns")


def times_by_parent(records: list, times: list[int]) -> dict[tuple[int, int], list[int]]:
    """``times`` (one per record) grouped by the record's parent (pid, start), leaving out
    the children of init and kthreadd. A fork storm's batch has one parent: that case is told
    and grouped without a Python step per record."""
    parents = list(map(_PARENT, records))
    if not parents:
        return {}
    first = parents[0]
    if parents.count(first) == len(parents):
        return {first: times} if first[0] > 2 else {}
    out: dict[tuple[int, int], list[int]] = {}
    for parent, time in zip(parents, times):
        if parent[0] > 2:
            out.setdefault(parent, []).append(time)
    return out


def _child_comm(records: list, ppid: int) -> str:
    """A fork's comm is its parent's at fork time: the name to scope by when the parent is gone."""
    return next((fork_comm(rec) for rec in records if rec.ppid == ppid), "")


def subject_of(table: ProcessTable, pid: int, start_ns: int = 0) -> AlertSubject:
    proc = table.get_key(process_key(pid, start_ns)) if start_ns else table.get(pid)
    if proc is None:
        return AlertSubject(pid=pid, start_ns=start_ns)
    return subject_from(proc)


class _Capped(OrderedDict):
    """Per-subject state with a cap; the oldest subject goes first."""

    def __init__(self, cap: int = MAX_SUBJECTS) -> None:
        super().__init__()
        self.cap, self.evicted = cap, 0

    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.cap:
            self.popitem(last=False)
            self.evicted += 1
        return value


class Forks:
    """What a detector that counts forks wants instead of ``ProcessStart``: every fork of a
    batch in time order, the exits that stand for their forks (``ProcessExit.fork_folded``,
    with the same pid, parent, start and uid; the name at fork is ``fork_comm``) among them."""


def forks_of(starts: list[ProcessStart] | None, exits: list[ProcessExit] | None) -> list:
    folded = [rec for rec in exits if rec.fork_folded] if exits else []
    if not folded:
        return starts or []
    return sorted(starts + folded, key=_START) if starts else folded


class Detector:
    #: The record types ``observe`` looks at: the engine hands a detector only those (most
    #: detectors want one type, and a call per record per detector added up in a fork storm).
    wants: tuple[type, ...] = ()

    def __init__(self, rule: dict, table: ProcessTable, lineage: Lineage) -> None:
        self.rule = rule
        self.table = table
        self.lineage = lineage
        self.scope = Scope(rule.get("scope", {}))
        self.window = int(parse_duration(rule["window"]) * NS)
        self.threshold = float(rule["threshold"])
        #: How long the condition must stay clear before its alert resolves (the engine's).
        self.hold = int(parse_duration(rule["hold"]) * NS)
        self.evicted = 0

    def observe(self, rec) -> None:
        raise NotImplementedError

    def observe_many(self, records: list) -> None:
        """One batch's records of the wanted types, in order (override to count per batch)."""
        for rec in records:
            self.observe(rec)

    def evaluate(self, now: int) -> list[Finding]:
        raise NotImplementedError

    def stop(self) -> None:
        """Keep what must survive a restart (most detectors keep nothing)."""

    def _admits_proc(self, pid: int, comm: str, uid: int | None = None) -> bool:
        proc = self.table.get(pid) if (self.scope.exe or self.scope.cgroup or self.scope.container) else None
        return self.scope.admits(comm, proc.exe if proc else "", uid,
                                 proc.cgroup_path if proc else "", proc.container_id if proc else "")


class ForkBurst(Detector):
    """Forks by one parent within the window."""

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.by_parent = _Capped()
        #: Parents with forks since the last evaluation, and those at or above the threshold
        #: then: only these can be at or above it now (the others' counts can only fall).
        self._touched: set[ProcessKey] = set()
        self._over: set[ProcessKey] = set()

    wants: tuple[type, ...] = (Forks,)

    def observe(self, rec):
        self.observe_many([rec])

    def _add(self, key: ProcessKey, times: list[int]) -> None:
        self.by_parent.get_or(key, deque).extend(times)
        self._touched.add(key)

    def observe_many(self, records):
        """Grouped by parent first: a storm has few parents, so the scope is checked per parent
        per batch instead of per fork."""
        for (ppid, parent_start), times in times_by_parent(
                records, list(map(_START, records))).items():
            parent = self.table.peek(ppid)
            comm = parent.comm if parent else _child_comm(records, ppid)
            if self.scope.admits(comm, parent.exe if parent else "", parent.uid if parent else None,
                                 parent.cgroup_path if parent else "",
                                 parent.container_id if parent else ""):
                self._add(process_key(ppid, parent_start), times)

    def evaluate(self, now):
        """Looks at the parents that forked since the last evaluation or were over the
        threshold then, not at every parent of the window: a build has hundreds of them (each
        compiler driver is one), and judging them all four times a second was most of the
        rules' cost there. Parents are kept in the order they last forked, so the ones whose
        last fork left the window are dropped from the front."""
        horizon = now - self.window
        self._expire(horizon)
        out = []
        candidates = sorted(self._touched | self._over)  # sorted: findings in a stable order
        self._touched, self._over = set(), set()
        for key in candidates:
            times = self.by_parent.get(key)
            while times and times[0] < horizon:
                times.popleft()
            if not times:
                self.by_parent.pop(key, None)
            elif len(times) >= self.threshold:
                self._over.add(key)
                subject = subject_of(self.table, key[0], 0)
                out.append(Finding(key, subject, f"{subject.comm or key[0]} forked {len(times)} "
                                   f"children in {self.window / NS:g}s",
                                   {"forks": len(times), "window_s": self.window / NS}))
        self.evicted = self.by_parent.evicted
        return out

    def _expire(self, horizon: int) -> None:
        """Drop the parents whose last fork is older than ``horizon``, oldest first."""
        parents = self.by_parent
        while parents:
            key = next(iter(parents))
            times = parents[key]
            if times and times[-1] >= horizon:
                return
            del parents[key]


class ShortJobFlood(ForkBurst):
    """Children living less than ``max_lifetime``, per parent, within the window."""

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.max_lifetime = int(parse_duration(rule["max_lifetime"]) * NS)

    wants = (ProcessExit,)

    def observe_many(self, records):
        short = self.max_lifetime
        brief = [rec for rec in records if rec.exit_ns - rec.start_ns < short]
        for (ppid, parent_start), times in times_by_parent(brief, list(map(_EXIT, brief))).items():
            parent = self.table.peek(ppid)
            if self.scope.admits(parent.comm if parent else ""):
                self._add(process_key(ppid, parent_start), times)


class _SampleSeries(Detector):
    """Per-process series of samples within the window."""

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.series = _Capped()

    wants = (ProcessSample,)

    def observe(self, rec):
        if type(rec) is ProcessSample and self.scope.admits(rec.comm):
            points = self.series.get_or(rec.key, deque)
            if points and rec.ts_ns <= points[-1].ts_ns:
                return
            points.append(rec)

    def _trim(self, now):
        for key, points in list(self.series.items()):
            while points and points[0].ts_ns < now - self.window:
                points.popleft()
            if not points:
                del self.series[key]
        self.evicted = self.series.evicted

    def full_windows(self, now):
        """(key, points) of the subjects sampled over most of the window: "the whole window"."""
        self._trim(now)
        return [(key, pts) for key, pts in self.series.items()
                if len(pts) >= 2 and pts[-1].ts_ns - pts[0].ts_ns >= self.window * 0.8]


class CpuSpike(_SampleSeries):
    def evaluate(self, now):
        out = []
        for key, pts in self.full_windows(now):
            shares = [((b.cpu_user_ns + b.cpu_system_ns) - (a.cpu_user_ns + a.cpu_system_ns))
                      / max(1, b.ts_ns - a.ts_ns) for a, b in zip(pts, list(pts)[1:])]
            if shares and min(shares) >= self.threshold:  # sustained: every interval above
                subject = subject_of(self.table, key[0], pts[-1].start_ns)
                out.append(Finding(key, subject, f"{pts[-1].comm} used {min(shares):.0%}+ of a "
                                   f"core for {(pts[-1].ts_ns - pts[0].ts_ns) / NS:.0f}s",
                                   {"min_share": round(min(shares), 3),
                                    "series": [round(s, 3) for s in shares[-20:]]}))
        return out


class RssHigh(_SampleSeries):
    """RSS at or above ``threshold`` bytes in every sample of the window (Linnix's
    subtree_rss_mb, per process): a fixed line, for those who chose one."""

    def evaluate(self, now):
        out = []
        for key, pts in self.full_windows(now):
            low = min(p.rss_bytes for p in pts)
            if low >= self.threshold:
                subject = subject_of(self.table, key[0], pts[-1].start_ns)
                out.append(Finding(key, subject, f"{pts[-1].comm} RSS above "
                                   f"{self.threshold / 2**20:.0f} MiB for "
                                   f"{(pts[-1].ts_ns - pts[0].ts_ns) / NS:.0f}s",
                                   {"rss_min": low, "threshold": self.threshold}))
        return out


class _Projection(_SampleSeries):
    """A sampled quantity rising toward its limit: a sustained trend over most of the window
    (not one burst), graded by the time left."""

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.urgency = Urgency.from_rule(rule)

    def trend(self, pts, value) -> float:
        """Growth per second, or 0 when the series is too short or does not rise steadily."""
        if len(pts) < 4 or pts[-1].ts_ns - pts[0].ts_ns < self.window * 0.3:
            return 0.0
        values = [value(p) for p in pts]
        if not sustained_rise(values):
            return 0.0
        return slope([(p.ts_ns / NS, v) for p, v in zip(pts, values)])


class MemoryLeak(_Projection):
    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.min_growth = parse_size(rule["min_growth"])

    def evaluate(self, now):
        self._trim(now)
        out = []
        for key, pts in self.series.items():
            growth = self.trend(pts, lambda p: p.rss_bytes)
            if growth < self.min_growth:
                continue
            rss = pts[-1].rss_bytes
            limit = limits.memory_limit(key[0])
            left = seconds_left(rss, limit, growth)
            severity = self.urgency.of(left, rss / limit)
            if severity is not None:
                subject = subject_of(self.table, key[0], pts[-1].start_ns)
                out.append(Finding(key, subject, f"{pts[-1].comm} RSS grows "
                                   f"{growth / 2**20:.1f} MiB/s; limit reached in ~{left:.0f}s",
                                   {"growth_bytes_per_s": round(growth), "rss": rss,
                                    "limit": limit, "seconds_to_limit": round(left, 1),
                                    "series": [p.rss_bytes for p in list(pts)[-20:]]}, severity))
        return out


class FdExhaustion(_Projection):
    def evaluate(self, now):
        self._trim(now)
        out = []
        for key, pts in self.series.items():
            last = pts[-1]
            if not last.fd_limit:
                continue
            left = seconds_left(last.fds, last.fd_limit, self.trend(pts, lambda p: p.fds))
            used = last.fds / last.fd_limit
            severity = self.urgency.of(left, used) if left != float("inf") else (
                self.rule["severity"] if used >= self.urgency.ratio else None)
            if severity is not None:
                subject = subject_of(self.table, key[0], last.start_ns)
                out.append(Finding(key, subject, f"{last.comm} has {last.fds}/{last.fd_limit} "
                                   f"fds open ({used:.0%})" + (f", full in ~{left:.0f}s"
                                                              if left != float("inf") else ""),
                                   {"fds": last.fds, "limit": last.fd_limit,
                                    "ratio": round(used, 3), "seconds_to_limit": None if
                                    left == float("inf") else round(left, 1),
                                    "series": [p.fds for p in list(pts)[-20:]]}, severity))
        return out
