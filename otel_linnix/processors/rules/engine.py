"""Alert lifecycle: findings → firing alerts (deduplicated per rule + subject, with cooldown)
→ resolved alerts when the finding goes away."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from otel_linnix.config.types import parse_duration
from otel_linnix.processors.rules.detectors import DETECTORS, NS, WATCHING, Detector, Finding
from otel_linnix.records import Alert, record_time

#: Detectors are evaluated at most this often (record time): some read the whole table.
EVAL_INTERVAL_NS = 250_000_000


@dataclass
class _Active:
    alert: Alert
    missing_since: int | None = None


class Engine:
    def __init__(self, rules: list[dict], ctx) -> None:
        self.ctx = ctx
        self.detectors: list[Detector] = [DETECTORS[r["type"]](r, ctx.process_table) for r in rules]
        self._by_type: dict[type, list[Detector]] = {}
        for det in self.detectors:
            for kind in det.wants:
                self._by_type.setdefault(kind, []).append(det)
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
        for kind, group in groups.items():
            for det in self._by_type.get(kind, ()):
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
                alert = self._fire(det, finding, now)
                if alert is not None:
                    out.append(alert)
                if isinstance(det, WATCHING) and key[0]:
                    self.ctx.watched.watch(key)
            out += self._resolve_missing(det, name, found, now)
        return out

    def _fire(self, det: Detector, finding: Finding, now: int) -> Alert | None:
        rule = det.rule
        ident = (rule["name"], finding.key)
        active = self.active.get(ident)
        if active is not None:  # still firing: refresh, no new alert
            active.missing_since = None
            active.alert.last_seen_ns = now
            active.alert.evidence = finding.evidence
            return None
        if now < self.cooldown_until.get(ident, 0):
            return None
        digest = hashlib.blake2b(f"{rule['name']}|{finding.key}|{now}".encode(), digest_size=8)
        alert = Alert(id=digest.hexdigest(), rule=rule["name"], severity=rule["severity"],
                      state="firing", subject=finding.subject, message=finding.message,
                      first_seen_ns=now, last_seen_ns=now, evidence=finding.evidence)
        self.active[ident] = _Active(alert)
        return alert

    def _resolve_missing(self, det: Detector, name: str, found: dict, now: int) -> list[Alert]:
        out = []
        grace = det.window  # one window without the finding before we call it resolved
        for ident in [i for i in self.active if i[0] == name and i[1] not in found]:
            active = self.active[ident]
            active.missing_since = active.missing_since or now
            if now - active.missing_since >= grace:
                del self.active[ident]
                self.cooldown_until[ident] = now + int(parse_duration(det.rule["cooldown"]) * NS)
                fired = active.alert
                out.append(Alert(id=fired.id, rule=fired.rule, severity=fired.severity,
                                 state="resolved", subject=fired.subject,
                                 message=f"resolved: {fired.message}",
                                 first_seen_ns=fired.first_seen_ns, last_seen_ns=now,
                                 evidence=fired.evidence))
        if len(self.cooldown_until) > 10000:  # bounded: forget expired cooldowns
            self.cooldown_until = {k: v for k, v in self.cooldown_until.items() if v > now}
        return out
