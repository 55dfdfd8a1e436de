"""Fork storms and runaway trees, judged by headroom and growth, with the culprit named.

Short-lived churn at a steady live count — a configure script, ``make -j``, a test suite — is
what build hosts do all day. What hurts is (a) the live count growing toward a limit that will
make ``fork`` fail: a cgroup's ``pids.max``, the host's ``pid_max`` / ``threads-max``, a user's
RLIMIT_NPROC; or (b) a fork rate far beyond anything this host normally does. (a) is graded by
the time left; (b) is measured against a learned baseline (see ``baseline``), never below a
floor per CPU. Either way the alert names the smallest subtree that accounts for it.
"""

from __future__ import annotations

import os
from collections import deque

from otel_linnix.config.types import parse_duration
from otel_linnix.processors.rules import limits
from otel_linnix.processors.rules.baseline import RateBaseline
from otel_linnix.processors.rules.detectors import HOST, NS, Detector, Finding, Forks
from otel_linnix.processors.rules.lineage import Lineage
from otel_linnix.processors.rules.trend import (
    SEVERITY_RANK,
    Urgency,
    rising_run,
    seconds_left,
    slope,
    sustained_rise,
)
from otel_linnix.records import AlertSubject, ProcessExit, ProcessKey, ProcessStart, fork_comm

#: Limited cgroups are looked up again this often, and sooner when the host forks hard.
RESCAN_NS = 10 * NS
BUSY_RESCAN_NS = NS
BUSY_FORKS_PER_S = 200
#: A cgroup's pids.current is read at every evaluation while the host forks at least this
#: often or the cgroup is half full, else every QUIET_POLL_NS (a systemd host has a limit on
#: every service: reading them all four times a second would be most of the idle cost).
ACTIVE_FORKS_PER_S = 20
QUIET_POLL_NS = 2 * NS
#: How long an episode's culprit may be named afresh at each evaluation, and from how many
#: members one naming is enough.
SETTLE_NS = NS
ENOUGH_MEMBERS = 64
#: The span a bomb's onset is judged on.
RECENT_NS = 2 * NS


class _Culprit:
    """One episode's culprit. Named from enough members at once; from few (the pipeline may
    still be draining the storm's first forks) it is named again at every evaluation of the
    episode's first second and reported once two namings agree (or the second is over).
    Then it is kept: one episode is one alert."""

    def __init__(self) -> None:
        self.since: int | None = None
        self.key: ProcessKey | None = None
        self.agreed = False

    def name(self, now: int, lineage: Lineage, members, share: float
             ) -> tuple[ProcessKey | None, bool]:
        """(culprit, ready to report); ``members`` lists the keys that account for it."""
        if self.since is None:
            self.since = now
        settling = now - self.since < SETTLE_NS
        if not self.agreed and (settling or self.key is None):
            found = members()
            key = lineage.culprit(found, share)
            self.agreed = key is not None and (key == self.key or len(found) >= ENOUGH_MEMBERS)
            self.key = key
        return self.key, self.agreed or not settling

    def reset(self) -> None:
        self.since, self.key, self.agreed = None, None, False


class _Pool:
    """One limit and the live count held against it over the window."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit = name, limit
        self.series: deque[tuple[int, int]] = deque(maxlen=256)
        self.culprit = _Culprit()
        self.polled = -QUIET_POLL_NS

    def busy(self) -> bool:
        return bool(self.series) and self.series[-1][1] >= self.limit / 2

    def add(self, now: int, live: int, window: int) -> None:
        self.series.append((now, live))
        while self.series[0][0] < now - window:
            self.series.popleft()

    def judge(self, urgency: Urgency, min_rise: int) -> tuple[str | None, dict]:
        """Graded on the whole window (a slow flood) and on its last seconds (a bomb's onset,
        not diluted by the quiet before it); the more urgent wins."""
        live = self.series[-1][1]
        used = live / self.limit
        recent = [p for p in self.series if p[0] >= self.series[-1][0] - RECENT_NS]
        growth = max(self._growth(list(self.series), min_rise), self._growth(recent, min_rise))
        left = seconds_left(live, self.limit, growth)
        evidence = {"pool": self.name, "live": live, "limit": self.limit,
                    "used": round(used, 3), "growth_per_s": round(growth, 1),
                    "seconds_to_limit": None if left == float("inf") else round(left, 1)}
        return urgency.of(left, used), evidence

    @staticmethod
    def _growth(points: list[tuple[int, int]], min_rise: int) -> float:
        """Growth per second over the trailing run of rises (four points or more), else over
        the span when it rose in most steps; 0 when it did not rise by ``min_rise``."""
        values = [v for _, v in points]
        if len(values) < 4 or values[-1] - min(values) < min_rise:
            return 0.0
        run = rising_run(values)
        if run >= 4 and values[-1] - values[-run] >= min_rise:
            points = points[-run:]
        elif not sustained_rise(values):
            return 0.0
        return slope([(t / NS, v) for t, v in points])


class ForkStorm(Detector):
    wants = (Forks,)

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.urgency = Urgency.from_rule(rule)
        self.min_rise = int(rule["min_rise"])
        self.share = float(rule["share"])
        self.rate_window = int(parse_duration(rule["rate_window"]) * NS)
        self.min_duration = int(parse_duration(rule["min_duration"]) * NS)
        self.rate_floor = float(rule["rate_floor_per_cpu"]) * (os.cpu_count() or 1)
        self.rate_factor = float(rule["rate_factor"])
        self.rate_severity = rule["rate_severity"]
        held = int((self.rate_window + self.min_duration) / NS) + 2
        self.baseline = RateBaseline(rule.get("baseline_file") or None, hold_back_s=held)
        #: (evaluation time, forks since the one before): rates cost nothing per fork.
        self.counts: deque[tuple[int, int]] = deque()
        self._new = 0
        #: The last forks seen, as their records: a fork storm's culprits are found among them
        #: (rarely), so nothing is computed per fork.
        self.recent: deque[ProcessStart | ProcessExit] = deque(maxlen=512)
        self.host = _Pool("host processes", limits.host_task_limit())
        self.host_tasks = _Pool("host tasks", limits.host_task_limit())
        self.cgroups: dict[str, _Pool] = {}
        self.users: dict[int, _Pool] = {}
        self.rate_pool = _Pool("rate", 1)
        self.above_since: int | None = None
        self.departing = False
        self._scanned = -RESCAN_NS
        self._burst_since_scan = False

    def observe_many(self, records):
        if not self.scope.everything:
            records = [r for r in records if self._admits_proc(r.pid, fork_comm(r), r.uid)]
        if not records:
            return
        self._new += len(records)
        self.recent.extend(records[-512:])
        if not self.departing:  # a storm must not teach the baseline that storms are normal
            self.baseline.add(records[-1].start_ns, len(records))

    def observe(self, rec):
        self.observe_many([rec])

    def evaluate(self, now):
        self.counts.append((now, self._new))
        self._new = 0
        horizon = now - max(self.window, self.rate_window)
        while self.counts[0][0] < horizon:
            self.counts.popleft()
        self._rescan(now)
        judged = [*self._judge_host(now), *self._judge_cgroups(now), *self._judge_users(now),
                  self._judge_rate(now)]
        self.baseline.maybe_save(now)
        by_culprit: dict[ProcessKey, Finding] = {}
        for finding in judged:
            if finding is None:
                continue
            kept = by_culprit.get(finding.key)
            if kept is None or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[kept.severity]:
                by_culprit[finding.key] = finding
        return list(by_culprit.values())

    def stop(self) -> None:
        self.baseline.save()

    # ---- headroom ---------------------------------------------------------------------------

    def _judge_host(self, now: int) -> list[Finding | None]:
        """Processes as the table counts them (what a replay has too), and tasks — threads
        included — as the kernel counts them, against the host's pid_max / threads-max."""
        out = []
        for pool, live in ((self.host, len(self.table)), (self.host_tasks, limits.host_tasks())):
            pool.add(now, live, self.window)
            severity, evidence = pool.judge(self.urgency, self.min_rise)
            if severity is None:
                pool.culprit.reset()
                continue
            out.append(self._finding(pool, now,
                                     lambda: self.table.started_since(now - self.window),
                                     severity, evidence, self._headroom_message(evidence)))
        return out

    def _judge_cgroups(self, now: int) -> list[Finding | None]:
        out = []
        active = self._forks_since(now - NS) >= ACTIVE_FORKS_PER_S
        for path, pool in self.cgroups.items():
            if not (active or pool.culprit.since or pool.busy()) \
                    and now - pool.polled < QUIET_POLL_NS:
                continue
            pool.polled = now
            live = limits.pids_current(path)
            if live is None:
                continue
            pool.add(now, live, self.window)
            severity, evidence = pool.judge(self.urgency, self.min_rise)
            if severity is None:
                pool.culprit.reset()
                continue
            out.append(self._finding(pool, now, lambda p=path: self._members(p, now),
                                     severity, evidence, self._headroom_message(evidence)))
        return out

    def _judge_users(self, now: int) -> list[Finding | None]:
        """RLIMIT_NPROC: a user's processes growing toward the soft limit (root is exempt).
        The table counts processes; the kernel counts the user's threads too, so this errs late."""
        if not self.users:
            return []
        counts = self.table.count_by_uid(set(self.users))
        out = []
        for uid, pool in self.users.items():
            pool.add(now, counts.get(uid, 0), self.window)
            severity, evidence = pool.judge(self.urgency, self.min_rise)
            if severity is None:
                pool.culprit.reset()
                continue
            out.append(self._finding(pool, now, lambda u=uid: [
                rec.key for rec in self.recent if rec.uid == u], severity, evidence,
                self._headroom_message(evidence)))
        return out

    def _rescan(self, now: int) -> None:
        # a burst seen while the next scan was not yet due is remembered: a bomb that fills a
        # fresh cgroup within a second of the last scan stops forking (fork fails), so "busy
        # now" alone would leave that cgroup unseen until the quiet rescan, 10 s later
        self._burst_since_scan |= self._forks_since(now - NS) >= BUSY_FORKS_PER_S
        if now - self._scanned < (BUSY_RESCAN_NS if self._burst_since_scan else RESCAN_NS):
            return
        self._scanned = now
        self._burst_since_scan = False
        self._rescan_users()
        found = limits.limited_pids_cgroups()
        for path, limit in found.items():
            pool = self.cgroups.get(path)
            if pool is None:
                self.cgroups[path] = _Pool(f"cgroup {path}", limit)
            else:
                pool.limit = limit
        for path in [p for p in self.cgroups if p not in found]:
            del self.cgroups[path]

    def _rescan_users(self) -> None:
        """Users who forked lately and have a finite RLIMIT_NPROC (one /proc read per user)."""
        latest: dict[int, ProcessKey] = {}
        for rec in self.recent:
            if rec.uid:
                latest[rec.uid] = rec.key
        for uid, key in latest.items():
            if uid in self.users:
                continue
            limit = limits.nproc_limit(key[0])
            if limit:
                self.users[uid] = _Pool(f"user {uid} RLIMIT_NPROC", limit)
        for uid in [u for u in self.users if u not in latest]:
            del self.users[uid]

    def _members(self, path: str, now: int) -> list[ProcessKey]:
        """Live members of the cgroup, the ones that came within the window first."""
        procs = [p for p in map(self.table.peek, limits.cgroup_members(path)) if p is not None]
        new = [p.key for p in procs if p.start_ns >= now - self.window]
        return new or [p.key for p in procs]

    @staticmethod
    def _headroom_message(ev: dict) -> str:
        text = f"{ev['pool']}: {ev['live']}/{ev['limit']} tasks ({ev['used']:.0%})"
        if ev["seconds_to_limit"] is not None:
            text += f", +{ev['growth_per_s']:g}/s, full in ~{ev['seconds_to_limit']:.0f}s"
        return text

    # ---- rate far beyond normal ---------------------------------------------------------------

    def _judge_rate(self, now: int) -> Finding | None:
        rate = self._forks_since(now - self.rate_window) / (self.rate_window / NS)
        normal = self.baseline.quantile(0.999) if self.rule["learn"] else 0.0
        threshold = max(self.rate_floor, self.rate_factor * normal)
        if rate < threshold:
            self.above_since, self.departing, self.rate_pool.culprit.reset(), False, None
            return None
        self.departing = True
        self.baseline.discard_pending()
        if self.above_since is None:
            self.above_since = self._departure_start(now, threshold)
        if now - self.above_since < self.min_duration:
            return None
        evidence = {"pool": "rate", "forks_per_second": round(rate, 1),
                    "threshold": round(threshold), "normal_peak": normal,
                    "learned_s": round(self.baseline.learned_s)}
        message = (f"{rate:.0f} forks/s for {(now - self.above_since) / NS:.0f}s, beyond this "
                   f"host's normal ({normal:.0f}/s at most, alerting above {threshold:.0f}/s)")
        return self._finding(self.rate_pool, now, lambda: [rec.key for rec in self.recent],
                             self.rate_severity, evidence, message)

    def _departure_start(self, now: int, threshold: float) -> int:
        """When forks began arriving at ``threshold`` or faster: the start of the run of
        evaluation intervals, ending now, each at that rate. The mean over ``rate_window``
        crosses the threshold only once most of the window is storm (nearly the whole window
        for a storm just above it), so timing the departure from that crossing added most of
        ``rate_window`` to ``min_duration``: alerts came 5 s after the onset, not 2."""
        start = now
        counts = list(self.counts)
        for (before, _), (ts, forks) in zip(reversed(counts[:-1]), reversed(counts[1:])):
            if ts <= before or forks * NS < threshold * (ts - before):
                break
            start = before
        return start

    def _forks_since(self, start: int) -> int:
        return sum(count for ts, count in self.counts if ts > start)

    # ---- culprit ------------------------------------------------------------------------------

    def _finding(self, pool: _Pool, now: int, members, severity: str, evidence: dict,
                 message: str) -> Finding | None:
        """The pool's finding, naming its culprit (None: the culprit is still being settled)."""
        culprit, ready = pool.culprit.name(now, self.lineage, members, self.share)
        if not ready:
            return None
        if culprit is None:
            return Finding(HOST, AlertSubject(), message, evidence, severity)
        subject = self.lineage.subject(culprit)
        who = f"{subject.comm or '?'} (pid {subject.pid})"
        return Finding(culprit, subject, f"fork storm from {who}: {message}", evidence, severity)


class RunawayTree(Detector):
    """A process tree at or above the threshold of live processes and still growing; the alert
    names the smallest subtree holding the growth (not the tree's top-level ancestor)."""

    def __init__(self, rule, table, lineage):
        super().__init__(rule, table, lineage)
        self.share = float(rule["share"])
        self.history: deque[tuple[int, dict]] = deque(maxlen=64)
        self.culprits: dict[ProcessKey, _Culprit] = {}

    def observe(self, rec):
        pass  # reads the table at evaluation

    def evaluate(self, now):
        counts = self.table.count_trees(self.scope)
        self.history.append((now, counts))
        while self.history and self.history[0][0] < now - self.window:
            self.history.popleft()
        oldest = self.history[0][1]
        out, found = [], set()
        for root, live in counts.items():
            before = oldest.get(root, 0)
            if live < self.threshold or live <= before:
                continue
            episode = self.culprits.setdefault(root, _Culprit())
            culprit, ready = episode.name(now, self.lineage, lambda r=root: (
                self.table.started_since(now - self.window, tree_root=r)), self.share)
            if not ready:
                found.add(root)
                continue
            subject = self.lineage.subject(culprit or root)
            out.append(Finding(root, subject, f"process tree grows to {live} live processes "
                               f"(was {before} {self.window / NS:g}s ago), from "
                               f"{subject.comm or '?'} (pid {subject.pid})",
                               {"live": live, "before": before, "window_s": self.window / NS,
                                "tree_root_pid": root[0]}))
        found |= {f.key for f in out}
        for root in [r for r in self.culprits if r not in found]:
            del self.culprits[root]
        return out
