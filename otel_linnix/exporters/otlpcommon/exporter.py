"""An OTLP exporter as a chain of stages with one job each, as the Collector's exporterhelper:
``SendingQueue`` (bounded, drops counted) → batch (the worker takes the queue, ``RequestBuilder``
makes one request per signal per ``batch.max_size`` records; spans are built before they are
queued, on the pipeline's thread) → ``Delivery`` (retry with backoff, spool, send). The worker
thread only moves data from one stage to the next; it makes no data of its own (the agent's own
metrics come from the service, reports of still-running processes from the receivers, both as
records like any other).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence, Sized

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import parse_duration, parse_size
from otel_linnix.exporters.otlpcommon.builder import MappedSpans, RequestBuilder
from otel_linnix.exporters.otlpcommon.delivery import Backoff, Counts, Delivery
from otel_linnix.exporters.otlpcommon.queue import Item, SendingQueue
from otel_linnix.exporters.otlpcommon.spool import Spool
from otel_linnix.records import Record

#: An idle worker wakes at least this often, and waits at least this long between spool
#: replays (a spool being drained goes on at once only when records arrive).
MAX_IDLE_S, MIN_IDLE_S = 5.0, 0.02


class OTLPExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict, sender_factory) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._id = settings.id
        self._config = config
        self._sender_factory = sender_factory
        self._queue = SendingQueue(config["sending_queue"]["queue_size"])
        self._batch_timeout = parse_duration(config["batch"]["timeout"])
        self._metrics_timeout = parse_duration(config["batch"]["metrics_timeout"])
        self._batch_max = config["batch"]["max_size"]
        self._stop = threading.Event()
        spool = config["spool"]
        self._spool = Spool(spool["directory"], parse_size(spool["max_size"])) \
            if spool["enabled"] else None
        self._counts = Counts(self._ctx.telemetry, self._id)
        self._delivery: Delivery | None = None
        self._builder = RequestBuilder(self._ctx, config["logs"]["exec_events"],
                                       config["logs"]["exit_events"],
                                       config["export_unfinished"])
        self._thread = threading.Thread(target=self._run, name=f"exporter-{self._id}", daemon=True)
        self._gauges()

    def _gauges(self) -> None:
        t, suffix = self._ctx.telemetry, self._id.replace("/", "_")
        t.gauge(f"otel_linnix.exporter.queue_size.{suffix}", "Records waiting in the exporter "
                "queue", callback=lambda: self._queue.queued)
        if self._spool is not None:
            spool = self._spool
            t.gauge(f"otel_linnix.exporter.spool_bytes.{suffix}", "Bytes in the on-disk spool",
                    "By", callback=lambda: spool.bytes)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        retry = self._config["retry"]
        self._delivery = Delivery(
            self._id, self._sender_factory(self._config), self._spool,
            Backoff(parse_duration(retry["initial_interval"]),
                    parse_duration(retry["max_interval"])),
            parse_duration(retry["max_elapsed_time"]), self._counts, self._log, self._stop)
        self._thread.start()

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        if not self._builder.maps_any(signal, records):
            return
        queued: Sized = records
        if signal is Signal.TRACES:
            queued = mapped = self._builder.map_spans(records)
            if not mapped.groups:  # only events of spans still to come
                return
        if not self._queue.put(signal, queued):
            self._counts.drop(len(queued), "queue_full")

    def force_flush(self, timeout: float = 5.0) -> bool:
        return self._queue.drained(timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        if self._queue.closed:
            return
        if self._delivery is not None:  # every send from now on fits the budget, else spools
            self._delivery.deadline = time.monotonic() + max(0.5, timeout / 2)
        self._queue.close()
        self._stop.set()
        if self._delivery is None:  # never started
            return
        self._thread.join(timeout)
        sender = self._delivery.sender
        if self._thread.is_alive():  # blocked in a send begun before, to a hanging backend
            lost = self._queue.queued
            if lost:
                self._counts.drop(lost, "shutdown")
            in_flight = self._delivery.abandon()  # spooled when there is a spool
            self._log.warning("exporters.%s: %s did not answer within %.1fs at shutdown; "
                              "request in flight: %s; %d queued records not exported",
                              self._id, sender.target, timeout, in_flight, lost)
            return
        self._batch(self._queue.take())  # the last batch: what cannot be sent in time spools
        sender.close()

    # ---- worker: queue → batch → delivery ---------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._queue.wait_batch(self._batch_timeout, self._batch_max, self._until_retry(),
                                   self._metrics_timeout)
            self._batch(self._queue.take())
            self._delivery.replay_spool()
            self._queue.done()

    def _until_retry(self) -> float:
        """Seconds an idle worker may sleep: until the next spool replay is due (a record
        arriving, or shutdown, wakes it at once)."""
        return min(max(MIN_IDLE_S, self._delivery.next_retry() - time.monotonic()), MAX_IDLE_S)

    def _batch(self, items: list[Item]) -> None:
        """One request per signal per ``batch.max_size`` records (spans, for traces: they are
        queued already built), keeping requests well under gRPC's message limit however much
        the queue held."""
        by_signal: dict[Signal, list[Record]] = {}
        spans: list[MappedSpans] = []
        for signal, records in items:
            if signal is Signal.TRACES:  # already spans (``consume``)
                spans.append(records)  # type: ignore[arg-type]
            else:
                by_signal.setdefault(signal, []).extend(records)  # type: ignore[arg-type]
        for request in self._builder.trace_requests(spans, self._batch_max):
            self._send(Signal.TRACES, request)
        for signal, records in by_signal.items():
            for i in range(0, len(records), self._batch_max):
                self._send(signal, self._builder.build(signal, records[i:i + self._batch_max]))

    def _send(self, signal: Signal, request) -> None:
        if request is not None:
            spans = request.span_count if signal is Signal.TRACES else 0
            self._delivery.deliver(signal, request.SerializeToString(), spans)
