"""The ``rules`` processor: runs the detectors over the stream and appends the alerts it makes.

Alerts also go to the shared alert store (the API's /alerts) and to the
``otel_linnix.alerts{rule,severity}`` counter. ``reload`` (SIGHUP) re-reads the rules file;
an invalid file keeps the old rules and their state.
"""

from __future__ import annotations

import threading
from typing import Sequence

from otel_linnix.component import CreateSettings, Processor
from otel_linnix.config.errors import ConfigError
from otel_linnix.processors.rules import rulesfile
from otel_linnix.processors.rules.engine import Engine
from otel_linnix.records import Record


class RulesProcessor(Processor):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._path = config["rules_file"] or None
        self._lock = threading.Lock()
        self.engine = Engine(rulesfile.load(self._path), self._ctx)  # bad file: create fails
        t = self._ctx.telemetry
        self._fired = t.counter("otel_linnix.alerts", "Alerts fired")
        self._resolved = t.counter("otel_linnix.alerts.resolved", "Alerts resolved")
        t.gauge("otel_linnix.alerts.firing", "Alerts firing now",
                callback=lambda: len(self.engine.active))
        t.gauge("otel_linnix.rules.evicted_subjects", "Per-subject detector state evicted (caps)",
                callback=lambda: sum(d.evicted for d in self.engine.detectors))

    def process(self, records: Sequence[Record]) -> Sequence[Record]:
        with self._lock:
            alerts = self.engine.observe(records)
        if not alerts:
            return records
        for alert in alerts:
            self._ctx.alerts.add(alert)
            labels = (("rule", alert.rule), ("severity", alert.severity))
            (self._fired if alert.state == "firing" else self._resolved).add(1, labels)
            self._log.info("alert %s %s: %s", alert.rule, alert.state, alert.message)
        return [*records, *alerts]

    def reload(self) -> None:
        try:
            rules = rulesfile.load(self._path)
        except ConfigError as exc:
            self._log.error("rules reload failed, keeping the old rules: %s", exc)
            raise
        with self._lock:
            old = self.engine
            self.engine = Engine(rules, self._ctx)
            # keep what is firing, and the detectors' state for rules that did not change
            self.engine.active, self.engine.cooldown_until = old.active, old.cooldown_until
            self.engine.now = old.now
            unchanged = {d.rule["name"]: d for d in old.detectors}
            self.engine.detectors = [unchanged.get(d.rule["name"]) if unchanged.get(
                d.rule["name"]) is not None and unchanged[d.rule["name"]].rule == d.rule else d
                for d in self.engine.detectors]
        self._log.info("rules reloaded: %d rules", len(rules))
