"""The host's fork / exec / exit totals, counted by the receiver that produces the records: one
place, so the Prometheus exporter, the API's /metrics and OTLP all show the same numbers, and
two exporters in one agent never count twice."""

from __future__ import annotations

from collections import Counter

from otel_linnix.records import ProcessExec, ProcessExit, ProcessStart, Record
from otel_linnix.telemetry import Telemetry

NAMES = {ProcessStart: ("otel_linnix.process.forks", "Processes forked"),
         ProcessExec: ("otel_linnix.process.execs", "Successful execs"),
         ProcessExit: ("otel_linnix.process.exits", "Processes exited")}


class HostTotals:
    def __init__(self, telemetry: Telemetry) -> None:
        self._counters = {kind: telemetry.counter(name, desc)
                          for kind, (name, desc) in NAMES.items()}

    def count(self, records: list[Record], folded_forks: int | None = None,
              folded_execs: int | None = None) -> None:
        """Per batch, not per record: a counter update takes a lock. An exit that stands for
        its fork and execs too (``fork_folded``, ``execs_folded``) counts as them all; a
        caller that knows how many there are says so, sparing a pass over the exits."""
        kinds = Counter(map(type, records))
        if folded_forks is None or folded_execs is None:
            folded = [rec for rec in records if type(rec) is ProcessExit and rec.fork_folded]
            folded_forks = len(folded)
            folded_execs = sum(len(rec.execs_folded) for rec in folded)
        kinds[ProcessStart] += folded_forks
        kinds[ProcessExec] += folded_execs
        for kind, counter in self._counters.items():
            if kinds[kind]:
                counter.add(kinds[kind])
