"""The agent's own metrics, made by the service (as the Collector's own telemetry is): every
``service.telemetry.metrics.interval`` a snapshot of the agent's counters and gauges goes to the
exporters of every metrics pipeline, and a last one when the receivers have stopped, so the
final counts of what was received go out with the drain. Exporters only translate it.
"""

from __future__ import annotations

import threading
import time

from otel_linnix.pipeline import PipelineHead
from otel_linnix.records import AgentTelemetry
from otel_linnix.telemetry import Telemetry


class SelfTelemetry:
    def __init__(self, telemetry: Telemetry, heads: list[PipelineHead], interval_s: float
                 ) -> None:
        self._telemetry = telemetry
        self._heads = heads
        self._interval = interval_s
        self._started_unix_ns = time.time_ns()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self._heads or self._interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="self-telemetry", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """The last snapshot (once), after the receivers have stopped."""
        if self._thread is None or self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout)
        self.emit()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.emit()

    def emit(self) -> None:
        snapshot = [AgentTelemetry(time.time_ns(), self._started_unix_ns,
                                   tuple(self._telemetry.snapshot()))]
        for head in self._heads:
            head.deliver(snapshot)
