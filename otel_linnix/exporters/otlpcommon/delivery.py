"""The last stages of an OTLP exporter: retry with backoff → spool → send (the Collector's
retry sender and persistent queue), for requests already built.

A retryable failure starts an exponential backoff with jitter (honouring RetryInfo /
Retry-After); until the backend answers again every request goes to the on-disk spool, which
is replayed oldest-first before anything new, so an outage costs disk, not memory, and loses
nothing that reached the spool. Without a spool a failed request is retried in place for at
most ``retry.max_elapsed_time``. Non-retryable failures are dropped and counted, the reason
logged.
"""

from __future__ import annotations

import random
import threading
import time

from otel_linnix.component import Signal
from otel_linnix.exporters.otlpcommon.senders import Result
from otel_linnix.exporters.otlpcommon.spool import Spool


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


class Counts:
    """What delivery counts, labelled by exporter."""

    def __init__(self, telemetry, exporter_id: str) -> None:
        self.labels = (("exporter", exporter_id),)
        self.dropped = telemetry.counter(
            "otel_linnix.exporter.dropped", "Records or requests dropped on purpose (queue or "
            "spool full, non-retryable rejection)")
        self.sent = telemetry.counter("otel_linnix.exporter.sent_requests",
                                      "Requests the backend took")
        self.failed = telemetry.counter("otel_linnix.exporter.send_failures",
                                        "Failed export attempts")
        self.spooled = telemetry.counter("otel_linnix.exporter.spooled_requests",
                                         "Requests written to the on-disk spool")
        self.spans = telemetry.counter("otel_linnix.exporter.sent_spans", "Spans exported")

    def drop(self, n: int, reason: str) -> None:
        self.dropped.add(n, self.labels + (("reason", reason),))


class Delivery:
    def __init__(self, exporter_id: str, sender, spool: Spool | None, backoff: Backoff,
                 max_elapsed: float, counts: Counts, log, stop: threading.Event) -> None:
        self._id = exporter_id
        self.sender = sender
        self.spool = spool
        self._backoff = backoff
        self._max_elapsed = max_elapsed
        self._counts = counts
        self._log = log
        self._stop = stop
        #: Set at shutdown: sends must fit the budget.
        self.deadline: float | None = None
        self._last_warning = 0.0
        #: The request being sent, until its send returns: what a shutdown that cannot wait
        #: for a hanging backend spools instead of losing (``abandon``).
        self._in_flight: tuple[Signal, bytes, int] | None = None
        self._in_flight_lock = threading.Lock()

    def deliver(self, signal: Signal, payload: bytes, spans: int) -> None:
        if self.spool is not None and (self._backoff.active or self.spool.bytes):
            self._to_spool(signal, payload, spans)  # keep order: older spooled data goes first
            return
        result = self._attempt(signal, payload, spans)
        if result.ok or not result.retryable:
            return
        delay = self._backoff.failed(result.retry_after)
        if self.spool is None:
            self._retry_in_place(signal, payload, result, delay, spans)
            return
        self._warn(f"exporters.{self._id}: {self.sender.target} unavailable ({result.error}); "
                   f"spooling, retry in {delay:.1f}s")
        self._to_spool(signal, payload, spans)

    def next_retry(self) -> float:
        """When (monotonic) the spool is next due for a replay; inf with nothing spooled."""
        if self.spool is None or not self.spool.bytes:
            return float("inf")
        return self._backoff.until

    def replay_spool(self) -> None:
        """Send spooled requests oldest-first, once the backoff allows (bounded per call so
        new data is not starved)."""
        if self.spool is None or time.monotonic() < self._backoff.until:
            return
        for _ in range(256):
            entry = self.spool.oldest()
            if entry is None:
                self._backoff.reset()
                return
            path, signal, payload, spans = entry
            result = self._attempt(signal, payload, spans)
            if result.ok or not result.retryable:
                self.spool.remove(path)  # delivered, or rejected for good (counted)
                continue
            self._backoff.failed(result.retry_after)
            return

    def _attempt(self, signal: Signal, payload: bytes, spans: int) -> Result:
        """One send, counted. Success ends any backoff; a failure the OTLP spec calls
        non-retryable is dropped here (counted, and the log says why)."""
        timeout = None
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0.05:
                return Result(False, True, None, "shutdown budget spent")
        with self._in_flight_lock:
            self._in_flight = (signal, payload, spans)
        try:
            result = self.sender.send(signal, payload, timeout)
        finally:
            with self._in_flight_lock:
                abandoned, self._in_flight = self._in_flight is None, None
        counts = self._counts
        if abandoned:  # already spooled by a shutdown that could not wait for this send
            return Result(True, False, None, "")
        if result.ok:
            counts.sent.add(1, counts.labels)
            counts.spans.add(spans, counts.labels)
            self._backoff.reset()
            return result
        counts.failed.add(1, counts.labels)
        if not result.retryable:
            counts.drop(1, "rejected")
            self._warn(f"exporters.{self._id}: {self.sender.target} rejected a {signal.value} "
                       f"request, not retryable, dropped: {result.error}")
        return result

    def abandon(self) -> str:
        """At shutdown, while a send hangs: spool the request in flight (it may yet arrive:
        at least once, never lost). Says what became of it: spooled, dropped (no spool, or
        a full one: counted) or none (no send in flight)."""
        with self._in_flight_lock:
            in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return "none"
        signal, payload, spans = in_flight
        if self.spool is not None and self.spool.put(signal, payload, spans):
            self._counts.spooled.add(1, self._counts.labels)
            return "spooled"
        self._counts.drop(1, "shutdown")
        return "dropped"

    def _retry_in_place(self, signal: Signal, payload: bytes, result: Result, delay: float,
                        spans: int) -> None:
        """No spool: keep retrying this request until ``retry.max_elapsed_time``, then drop."""
        give_up = time.monotonic() + self._max_elapsed
        while True:
            self._warn(f"exporters.{self._id}: {self.sender.target} unavailable "
                       f"({result.error}); retry in {delay:.1f}s")
            if time.monotonic() + delay > give_up or self._stop.wait(delay):
                self._counts.drop(1, "retry_exhausted")
                self._log.warning("exporters.%s: gave up a %s request after retrying (%s)",
                                  self._id, signal.value, result.error)
                return
            result = self._attempt(signal, payload, spans)
            if result.ok or not result.retryable:
                return
            delay = self._backoff.failed(result.retry_after)

    def _to_spool(self, signal: Signal, payload: bytes, spans: int) -> None:
        if self.spool is not None and self.spool.put(signal, payload, spans):
            self._counts.spooled.add(1, self._counts.labels)
            return
        reason = "spool_full" if self.spool is not None else "no_spool"
        self._counts.drop(1, reason)
        self._warn(f"exporters.{self._id}: a {signal.value} request was dropped ({reason})")

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning > 10:
            self._last_warning = now
            self._log.warning(message)
