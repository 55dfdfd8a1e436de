"""The runtime graph between components: receiver fan-out, processor chains, exporter fan-out.

Records cross it synchronously on the receiver's thread; exporters queue internally. A failure
in one processor or exporter is logged (rate-limited) and counted, and never reaches the
receiver: one bad component must not stop the event path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from otel_linnix.component import Exporter, Processor, RecordBus, Signal
from otel_linnix.records import Record
from otel_linnix.telemetry import Telemetry

log = logging.getLogger(__name__)


class _RateLimitedLog:
    """At most one log line per component per ``interval`` seconds; the rest are only counted."""

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}

    def error(self, key: str, msg: str, *args) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -self._interval) >= self._interval:
            self._last[key] = now
            log.error(msg, *args, exc_info=True)


class SharedProcessor:
    """One processor instance used by several pipelines processes each batch once.

    Pipelines that share a processor hand it the same batch object one after the other (the
    receiver fans out sequentially), so remembering the last input/output pair is enough.
    """

    def __init__(self, component_id: str, processor: Processor) -> None:
        self.id = component_id
        self.processor = processor
        self._lock = threading.Lock()
        self._last_in: Sequence[Record] | None = None
        self._last_out: Sequence[Record] = ()

    def process(self, records: Sequence[Record]) -> Sequence[Record]:
        with self._lock:
            if records is self._last_in:
                return self._last_out
            out = self.processor.process(records)
            self._last_in, self._last_out = records, out
            return out


class PipelineHead:
    """Entry of one pipeline: its processor chain, then every exporter with the signal."""

    def __init__(self, name: str, signal: Signal, processors: list[SharedProcessor],
                 exporters: list[tuple[str, Exporter]], telemetry: Telemetry) -> None:
        self.name = name
        self.signal = signal
        self._processors = processors
        self._exporters = exporters
        self._errors = telemetry.counter("otel_linnix.pipeline.errors",
                                         "Batches a processor or exporter failed on")
        self._log = _RateLimitedLog()

    def consume(self, records: Sequence[Record]) -> None:
        for proc in self._processors:
            try:
                records = proc.process(records)
            except Exception:
                self._errors.add(1, (("component", proc.id),))
                self._log.error(proc.id, "processor %s failed on a batch in pipeline %s "
                                "(batch passed on unprocessed)", proc.id, self.name)
        if records:
            self.deliver(records)

    def deliver(self, records: Sequence[Record]) -> None:
        """To the exporters alone: also for data the service makes itself (the agent's own
        metrics), on a clock of its own, which the processors must not judge."""
        for exporter_id, exporter in self._exporters:
            try:
                exporter.consume(self.signal, records)
            except Exception:
                self._errors.add(1, (("component", exporter_id),))
                self._log.error(exporter_id, "exporter %s failed on a batch in pipeline %s",
                                exporter_id, self.name)


class ReceiverFanout:
    """What a receiver's ``consumer`` is: the live bus, then each pipeline it feeds."""

    def __init__(self, heads: list[PipelineHead], bus: RecordBus, telemetry: Telemetry,
                 receiver_id: str) -> None:
        self._heads = heads
        self._bus = bus
        self._labels = (("receiver", receiver_id),)
        self._accepted = telemetry.counter("otel_linnix.receiver.accepted_records",
                                           "Records receivers handed to the pipelines")
        self._log = _RateLimitedLog()

    def consume(self, records: Sequence[Record]) -> None:
        if not records:
            return
        # A fresh list per batch: shared processors recognise a batch by identity, and a
        # receiver may reuse its own buffer for the next one.
        records = list(records)
        self._accepted.add(len(records), self._labels)
        try:
            self._bus.publish(records)
        except Exception:
            self._log.error("bus", "a live-stream listener failed")
        for head in self._heads:
            head.consume(records)
