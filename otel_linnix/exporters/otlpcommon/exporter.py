"""The exporter core every OTLP transport shares: bounded queue → worker → send, or spool.

``consume`` only appends to a bounded queue (drops counted). A worker thread maps records to
requests in batches and sends them. A retryable failure starts an exponential backoff with
jitter (honouring RetryInfo / Retry-After); until the backend answers again every request goes
to the on-disk spool, which is replayed oldest-first before anything new — so an outage costs
disk, not memory, and loses nothing that reached the spool. Without a spool a failed request
is retried in place for at most ``retry.max_elapsed_time`` (the bounded queue absorbs, then
drops and counts, what arrives meanwhile). Non-retryable failures are dropped and counted, with
the reason in the log.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import parse_duration, parse_size
from otel_linnix.exporters.otlpcommon.builder import RequestBuilder
from otel_linnix.exporters.otlpcommon.senders import Result
from otel_linnix.exporters.otlpcommon.spool import Spool
from otel_linnix.host import boot_ns_now
from otel_linnix.records import Record


class Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum = initial, maximum
        self.current = 0.0
        self.until = 0.0

    def failed(self, retry_after: float | None) -> float:
        self.current = min(self.maximum, self.current * 2 if self.current else self.initial)
        delay = retry_after if retry_after is not None else self.current * random.uniform(0.5, 1.0)
        self.until = time.monotonic() + delay
        return delay

    def reset(self) -> None:
        self.current, self.until = 0.0, 0.0

    @property
    def active(self) -> bool:
        return self.current > 0


class OTLPExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict, sender_factory) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._id = settings.id
        self._config = config
        self._sender_factory = sender_factory
        self._sender = None
        self._queue: list[tuple[Signal, Sequence[Record]]] = []
        self._queued = 0
        self._max_queue = config["sending_queue"]["queue_size"]
        self._batch_timeout = parse_duration(config["batch"]["timeout"])
        self._batch_max = config["batch"].get("max_size", 8192)
        self._max_elapsed = parse_duration(config["retry"].get("max_elapsed_time", "300s"))
        self._max_age_ns = int(parse_duration(config.get("unfinished_max_age", 0)) * 1e9)
        self._next_aged = 0.0
        self._busy = False
        self._deadline: float | None = None  # set at shutdown: sends must fit the budget
        self._lock = threading.Condition()
        self._backoff = Backoff(parse_duration(config["retry"]["initial_interval"]),
                                parse_duration(config["retry"]["max_interval"]))
        spool = config["spool"]
        self._spool = Spool(spool["directory"], parse_size(spool["max_size"])) \
            if spool["enabled"] else None
        self._builder = RequestBuilder(self._ctx, config["logs"]["exec_events"],
                                       config["logs"]["exit_events"],
                                       parse_duration(config["telemetry_interval"]))
        self._signals: set[Signal] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"exporter-{self._id}", daemon=True)
        self._stopped = False
        self._last_error_log = 0.0
        self._counters(settings)

    def _counters(self, settings: CreateSettings) -> None:
        t, label = self._ctx.telemetry, (("exporter", self._id),)
        self._labels = label
        self._dropped = t.counter("otel_linnix.exporter.dropped",
                                  "Records or requests dropped on purpose (queue or spool full, "
                                  "non-retryable rejection)")
        self._sent = t.counter("otel_linnix.exporter.sent_requests", "Requests the backend took")
        self._failed = t.counter("otel_linnix.exporter.send_failures", "Failed export attempts")
        self._spooled = t.counter("otel_linnix.exporter.spooled_requests",
                                  "Requests written to the on-disk spool")
        self._spans = t.counter("otel_linnix.exporter.sent_spans", "Spans exported")
        t.gauge(f"otel_linnix.exporter.queue_size.{self._id.replace('/', '_')}",
                "Records waiting in the exporter queue", callback=lambda: self._queued)
        if self._spool is not None:
            t.gauge(f"otel_linnix.exporter.spool_bytes.{self._id.replace('/', '_')}",
                    "Bytes in the on-disk spool", "By", callback=lambda: self._spool.bytes)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._sender = self._sender_factory(self._config)
        self._thread.start()

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        with self._lock:
            if self._stopped or self._queued + len(records) > self._max_queue:
                self._dropped.add(len(records), self._labels + (("reason", "queue_full"),))
                return
            self._queue.append((signal, records))
            self._queued += len(records)
            self._signals.add(signal)
            self._lock.notify()

    def force_flush(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queue and not self._busy:
                    return True
                self._lock.notify()
            time.sleep(0.01)
        return False

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._lock.notify()
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():  # blocked in a send to a hanging backend
            lost = self._queued
            self._dropped.add(lost, self._labels + (("reason", "shutdown"),))
            self._log.warning("exporters.%s: %s did not answer within %.1fs at shutdown; %d "
                              "queued records not exported", self._id, self._sender.target,
                              timeout, lost)
            return
        self._final(max(0.5, timeout / 2))
        if self._sender is not None:
            self._sender.close()

    def _final(self, budget: float) -> None:
        """Last batch, spans of still-running processes (marked unfinished), last metrics.
        Within ``budget`` seconds: what cannot be sent by then goes to the spool."""
        self._deadline = time.monotonic() + budget
        self._process(self._take())
        if Signal.TRACES in self._signals and self._config["export_unfinished"]:
            request = self._builder.traces(self._builder.spans.unfinished(boot_ns_now()))
            if request is not None:
                self._deliver(Signal.TRACES, request, final=True)
        if Signal.METRICS in self._signals:
            request = self._builder.final_metrics()
            if request is not None:
                self._deliver(Signal.METRICS, request, final=True)

    # ---- worker ----------------------------------------------------------------------------

    def _take(self) -> list[tuple[Signal, Sequence[Record]]]:
        with self._lock:
            items, self._queue, self._queued = self._queue, [], 0
            self._busy = bool(items)
        return items

    def _run(self) -> None:
        while not self._stop.is_set():
            self._fill_batch()
            self._process(self._take())
            self._replay_spool()
            if Signal.METRICS in self._signals:
                request = self._builder.build(Signal.METRICS, [])
                if request is not None:
                    self._deliver(Signal.METRICS, request)
            self._aged()
            self._busy = False

    def _fill_batch(self) -> None:
        """Wait for the first record, then up to ``batch.timeout`` more (or ``batch.max_size``
        records): one request per receiver batch would cost a round trip per few spans."""
        with self._lock:
            if not self._queue:
                self._lock.wait(self._batch_timeout)
            if not self._queue:
                return
            deadline = time.monotonic() + self._batch_timeout
            while self._queued < self._batch_max and not self._stopped:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._lock.wait(remaining)

    def _process(self, items) -> None:
        """One request per signal per ``batch.max_size`` records (keeps requests well under
        gRPC's message limit however much the queue held)."""
        by_signal: dict[Signal, list[Record]] = {}
        for signal, records in items:
            by_signal.setdefault(signal, []).extend(records)
        for signal, records in by_signal.items():
            for i in range(0, len(records), self._batch_max):
                request = self._builder.build(signal, records[i:i + self._batch_max])
                if request is not None:
                    self._deliver(signal, request)

    def _aged(self) -> None:
        """Long-lived processes, once past ``unfinished_max_age``: a span marked unfinished."""
        if not self._max_age_ns or Signal.TRACES not in self._signals:
            return
        now = time.monotonic()
        if now < self._next_aged:
            return
        self._next_aged = now + min(60.0, max(1.0, self._max_age_ns / 4e9))
        # ages on the clock of the records seen so far (live that is now; a replayed recording
        # has its own), so nothing is aged before the first traces record
        mapper = self._builder.spans
        if not mapper.latest_ns:
            return
        spans = mapper.unfinished(mapper.latest_ns, older_than_ns=self._max_age_ns)
        for i in range(0, len(spans), self._batch_max):
            request = self._builder.traces(spans[i:i + self._batch_max])
            if request is not None:
                self._deliver(Signal.TRACES, request)

    def _deliver(self, signal: Signal, request, final: bool = False) -> None:
        payload = request.SerializeToString()
        spans = request.span_count if signal is Signal.TRACES else 0
        if self._spool is not None and (self._backoff.active or self._spool.bytes):
            self._to_spool(signal, payload, spans)  # keep order: older spooled data goes first
            return
        result = self._attempt(signal, payload, spans)
        if result.ok or not result.retryable:
            return
        delay = self._backoff.failed(result.retry_after)
        if self._spool is None:
            self._retry_in_place(signal, payload, result, delay, spans)
            return
        self._warn(f"exporters.{self._id}: {self._sender.target} unavailable ({result.error}); "
                   f"spooling, retry in {delay:.1f}s")
        self._to_spool(signal, payload, spans)

    def _attempt(self, signal: Signal, payload: bytes, spans: int):
        """One send, counted. Success ends any backoff; a failure the OTLP spec calls
        non-retryable is dropped here (counted, and the log says why)."""
        timeout = None
        if self._deadline is not None:
            timeout = self._deadline - time.monotonic()
            if timeout <= 0.05:
                return Result(False, True, None, "shutdown budget spent")
        result = self._sender.send(signal, payload, timeout)
        if result.ok:
            self._sent.add(1, self._labels)
            self._spans.add(spans, self._labels)
            self._backoff.reset()
            return result
        self._failed.add(1, self._labels)
        if not result.retryable:
            self._dropped.add(1, self._labels + (("reason", "rejected"),))
            self._warn(f"exporters.{self._id}: {self._sender.target} rejected a {signal.value} "
                       f"request, not retryable, dropped: {result.error}")
        return result

    def _retry_in_place(self, signal: Signal, payload: bytes, result, delay: float,
                        spans: int) -> None:
        """No spool: keep retrying this request until ``retry.max_elapsed_time``, then drop."""
        give_up = time.monotonic() + self._max_elapsed
        while True:
            self._warn(f"exporters.{self._id}: {self._sender.target} unavailable "
                       f"({result.error}); retry in {delay:.1f}s")
            if time.monotonic() + delay > give_up or self._stop.wait(delay):
                self._dropped.add(1, self._labels + (("reason", "retry_exhausted"),))
                self._log.warning("exporters.%s: gave up a %s request after retrying (%s)",
                                  self._id, signal.value, result.error)
                return
            result = self._attempt(signal, payload, spans)
            if result.ok or not result.retryable:
                return
            delay = self._backoff.failed(result.retry_after)

    def _to_spool(self, signal: Signal, payload: bytes, spans: int = 0) -> None:
        if self._spool is not None and self._spool.put(signal, payload, spans):
            self._spooled.add(1, self._labels)
            return
        reason = "spool_full" if self._spool is not None else "no_spool"
        self._dropped.add(1, self._labels + (("reason", reason),))
        self._warn(f"exporters.{self._id}: a {signal.value} request was dropped ({reason})")

    def _replay_spool(self) -> None:
        if self._spool is None or time.monotonic() < self._backoff.until:
            return
        for _ in range(256):  # bounded per loop so new data is not starved
            entry = self._spool.oldest()
            if entry is None:
                self._backoff.reset()
                return
            path, signal, payload, spans = entry
            result = self._attempt(signal, payload, spans)
            if result.ok or not result.retryable:
                self._spool.remove(path)  # delivered, or rejected for good (counted)
                continue
            self._backoff.failed(result.retry_after)
            return

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_error_log > 10:
            self._last_error_log = now
            self._log.warning(message)
