"""The ``rules`` processor: runs the detectors over the stream and appends the alerts it makes.

Alerts also go to the shared alert store (the API's /alerts) and to the
``otel_linnix.alerts{rule,severity}`` counter. ``reload`` (SIGHUP) re-reads the rules file;
an invalid file keeps the old rules and their state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from otel_linnix.component import CreateSettings, Processor
from otel_linnix.config.errors import ConfigError
from otel_linnix.processors.rules import rulesfile
from otel_linnix.processors.rules.engine import Engine
from otel_linnix.records import Record
from otel_linnix.statedir import default_state_dir


class RulesProcessor(Processor):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._path = config["rules_file"] or None
        self._state_dir = config.get("state_dir") or os.path.join(default_state_dir(), "rules")
        self._overrides = config.get("overrides") or {}
        self._lock = threading.Lock()
        self.engine = self._engine(self._load())  # bad file: create fails
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

    def _load(self) -> list[dict]:
        """The rules, each fork_storm given its learned-baseline file in the state directory."""
        rules = rulesfile.load(self._path, self._overrides)
        for rule in rules:
            if rule["type"] == "fork_storm":
                rule["baseline_file"] = os.path.join(self._state_dir,
                                                     f"{rule['name']}.baseline.json")
        return rules

    def _engine(self, rules: list[dict]) -> Engine:
        return Engine(rules, self._ctx.process_table, self._ctx.watched.watch)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            self.engine.stop()

    def reload(self) -> None:
        try:
            rules = self._load()
        except ConfigError as exc:
            self._log.error("rules reload failed, keeping the old rules: %s", exc)
            raise
        with self._lock:
            old = self.engine
            self.engine = self._engine(rules)
            # keep what is firing, and the detectors' state for rules that did not change
            self.engine.active, self.engine.cooldown_until = old.active, old.cooldown_until
            self.engine.now = old.now
            unchanged = {d.rule["name"]: d for d in old.detectors}
            self.engine.detectors = [
                kept if (kept := unchanged.get(d.rule["name"])) is not None
                and kept.rule == d.rule else d for d in self.engine.detectors]
        self._log.info("rules reloaded: %d rules", len(rules))
