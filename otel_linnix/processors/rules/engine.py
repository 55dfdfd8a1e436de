"""Alert lifecycle: findings → firing alerts (deduplicated per rule + subject, with cooldown)
→ resolved alerts once the finding has stayed away for the rule's ``hold`` (hysteresis: one
episode is one alert, not a firing/resolved pair every few seconds).

A finding may grade itself (time left to a limit): an alert whose finding turns more severe is
resolved as "escalated" and fired again at the new severity under a new id, because the
receivers downstream (Alertmanager) identify an alert by its labels, severity among them.
Severity never drops within an episode."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from otel_linnix.config.types import parse_duration
from otel_linnix.processors.rules import detectors, forks, oom, pressure
from otel_linnix.processors.rules.detectors import NS, Detector, Finding, Forks, forks_of
from otel_linnix.processors.rules.lineage import Lineage
from otel_linnix.processors.rules.trend import SEVERITY_RANK
from otel_linnix.proctable import ProcessTable
from otel_linnix.records import Alert, ProcessExit, ProcessKey, ProcessStart, record_time

DETECTORS = {"fork_storm": forks.ForkStorm, "fork_burst": detectors.ForkBurst,
             "short_job_flood": detectors.ShortJobFlood, "runaway_tree": forks.RunawayTree,
             "cpu_spike": detectors.CpuSpike, "memory_leak": detectors.MemoryLeak,
             "fd_exhaustion": detectors.FdExhaustion, "rss_high": detectors.RssHigh,
             "oom_kill": oom.OomKillDetector, "pressure": pressure.Pressure}
#: Rule types whose alerts foretell an OOM kill: an oom_kill alert names them.
PREDICTS_OOM = ("memory_leak", "rss_high")
#: Detectors of one process's samples: their subjects are sampled every interval from then on.
WATCHING = (detectors.CpuSpike, detectors.MemoryLeak, detectors.FdExhaustion, detectors.RssHigh)

#: Detectors are evaluated at most this often (record time): some read the whole table.
EVAL_INTERVAL_NS = 250_000_000


@dataclass
class _Active:
    alert: Alert
    missing_since: int | None = None


class Engine:
    def __init__(self, rules: list[dict], table: ProcessTable,
                 watch: Callable[[ProcessKey], None]) -> None:
        """``watch`` asks the receiver's sampler to sample a process every interval (a rule
        that judges its samples found it): the one call that goes upstream, named here."""
        self._watch = watch
        lineage = Lineage(table)
        self.detectors: list[Detector] = [DETECTORS[r["type"]](r, table, lineage) for r in rules]
        for det in self.detectors:
            if isinstance(det, oom.OomKillDetector):
                det.predicted_by = self._memory_alerts_of
        self._wants = [(det, det.wants) for det in self.detectors if det.wants]
        self._wants_forks = any(Forks in wants for _, wants in self._wants)
        self.active: dict[tuple[str, tuple], _Active] = {}
        self.cooldown_until: dict[tuple[str, tuple], int] = {}
        self.now = 0
        self._last_eval = 0

    def observe(self, records) -> list[Alert]:
        groups: dict[type, list] = {}
        for rec in records:  # one pass splits the batch; detectors then take their types whole
            kind = type(rec)
            group = groups.get(kind)
            if group is None:
                group = groups[kind] = []
            group.append(rec)
        if self._wants_forks:
            forks = forks_of(groups.get(ProcessStart), groups.get(ProcessExit))
            if forks:
                groups[Forks] = forks
        # each detector takes its types in the order it lists them, not as they first came
        # in the batch: oom_kill must see a kill before its victim's exit when both are in it
        for det, wants in self._wants:
            for kind in wants:
                group = groups.get(kind)
                if group:
                    det.observe_many(group)
        if records:  # a batch is in time order: its last record is its newest
            ts = record_time(records[-1])
            if ts > self.now:
                self.now = ts
        if self.now - self._last_eval < EVAL_INTERVAL_NS:
            return []
        self._last_eval = self.now
        return self.evaluate(self.now)

    def evaluate(self, now: int) -> list[Alert]:
        out: list[Alert] = []
        for det in self.detectors:
            name = det.rule["name"]
            found = {f.key: f for f in det.evaluate(now)}
            for key, finding in found.items():
                out += self._fire(det, finding, now)
                if isinstance(det, WATCHING) and key[0]:
                    self._watch(key)
            out += self._resolve_missing(det, name, found, now)
        return out

    def _memory_alerts_of(self, key) -> list[str]:
        """Ids of memory alerts firing for one process (they predicted its OOM kill)."""
        types = {d.rule["name"]: d.rule["type"] for d in self.detectors}
        return [a.alert.id for (name, k), a in self.active.items()
                if k == key and types.get(name) in PREDICTS_OOM]

    def _fire(self, det: Detector, finding: Finding, now: int) -> list[Alert]:
        rule = det.rule
        ident = (rule["name"], finding.key)
        severity = finding.severity or rule["severity"]
        active = self.active.get(ident)
        if active is not None:
            active.missing_since = None
            fired = active.alert
            if SEVERITY_RANK[severity] <= SEVERITY_RANK[fired.severity]:
                fired.last_seen_ns = now  # still firing: refresh, no new alert
                fired.evidence = _refreshed(fired.evidence, finding.evidence)
                return []
            del self.active[ident]
            return [_resolved(fired, now, f"escalated to {severity}: {fired.message}",
                              escalated_to=severity), self._new(rule, finding, severity, now)]
        if now < self.cooldown_until.get(ident, 0):
            return []
        return [self._new(rule, finding, severity, now)]

    def _new(self, rule: dict, finding: Finding, severity: str, now: int) -> Alert:
        digest = hashlib.blake2b(f"{rule['name']}|{finding.key}|{now}".encode(), digest_size=8)
        alert = Alert(id=digest.hexdigest(), rule=rule["name"], severity=severity,
                      state="firing", subject=finding.subject, message=finding.message,
                      first_seen_ns=now, last_seen_ns=now, evidence=finding.evidence)
        self.active[(rule["name"], finding.key)] = _Active(alert)
        return alert

    def _resolve_missing(self, det: Detector, name: str, found: dict, now: int) -> list[Alert]:
        out = []
        for ident in [i for i in self.active if i[0] == name and i[1] not in found]:
            active = self.active[ident]
            active.missing_since = active.missing_since or now
            if now - active.missing_since >= det.hold:
                del self.active[ident]
                self.cooldown_until[ident] = now + int(parse_duration(det.rule["cooldown"]) * NS)
                out.append(_resolved(active.alert, now, f"resolved: {active.alert.message}"))
        if len(self.cooldown_until) > 10000:  # bounded: forget expired cooldowns
            self.cooldown_until = {k: v for k, v in self.cooldown_until.items() if v > now}
        return out

    def stop(self) -> None:
        for det in self.detectors:
            det.stop()


def _refreshed(old: dict, new: dict) -> dict:
    """Evidence of a still-firing alert: the new figures, but an empty list or name does not
    replace a known one (pressure outlasting its users, whose processes have exited, must not
    erase who they were: the message still names them)."""
    return {**old, **{k: v for k, v in new.items() if v not in ([], {}, "", None)}}


def _resolved(fired: Alert, now: int, message: str, **evidence) -> Alert:
    return Alert(id=fired.id, rule=fired.rule, severity=fired.severity, state="resolved",
                 subject=fired.subject, message=message, first_seen_ns=fired.first_seen_ns,
                 last_seen_ns=now, evidence={**fired.evidence, **evidence})
