"""Stage one of an OTLP exporter: the bounded sending queue (the Collector's queue sender).

``put`` never blocks the pipeline: past ``max_records`` it drops and counts. The worker takes
everything queued at once; ``wait_batch`` lets a batch fill for up to ``timeout``; ``drained``
is a condition wait (no polling) for ``force_flush``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sized

from otel_linnix.component import Signal

#: A signal and its records (for traces, the spans already built from them: ``MappedSpans``);
#: their length is what the queue counts.
Item = tuple[Signal, Sized]


class SendingQueue:
    def __init__(self, max_records: int) -> None:
        self._max = max_records
        self._items: list[Item] = []
        self.queued = 0
        #: The worker holds items taken from the queue and not yet delivered.
        self._busy = False
        self.closed = False
        #: Queued records of a signal other than metrics: the batch goes out after the short
        #: timeout. Metrics alone may wait longer (``wait_batch``'s ``metrics_timeout``).
        self._urgent = False
        #: ``drained`` asked for what is queued to go out now.
        self._flush = False
        self._cond = threading.Condition()
        #: The size the worker's batch waits for (``wait_batch``): below it, a ``put`` into a
        #: queue that already holds records wakes nobody. A fork storm's receiver puts a batch
        #: per pipeline twenty times a second, and waking the worker for each, only for it to
        #: wait again, cost the pipeline thread a notify and the worker a GIL round trip.
        self._wake_at = 1

    def put(self, signal: Signal, records: Sized) -> bool:
        """False (nothing queued) when closed or full: the caller counts the drop."""
        with self._cond:
            if self.closed or self.queued + len(records) > self._max:
                return False
            wake = not self._items or (signal is not Signal.METRICS and not self._urgent)
            self._items.append((signal, records))
            self.queued += len(records)
            if signal is not Signal.METRICS:
                self._urgent = True
            if wake or self.queued >= self._wake_at:
                self._cond.notify_all()
            return True

    def wait_batch(self, timeout: float, max_records: int, idle: float | None = None,
                   metrics_timeout: float | None = None) -> None:
        """Wait for the first item (at most ``idle``, default ``timeout``), then up to
        ``timeout`` more (or ``max_records``): one request per receiver batch would cost a
        round trip per few spans. While the batch holds only metrics it may wait up to
        ``metrics_timeout``: samples come every sampling tick, and on a quiet host a gRPC
        request per tick (some 2.5 ms of CPU in the client's Python and C threads) was a third
        of the agent's idle cost. Spans or logs arriving cut the wait back to ``timeout``."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout if idle is None else idle)
            if not self._items:
                return
            first = time.monotonic()
            self._wake_at = max_records
            try:
                while self.queued < max_records and not self.closed and not self._flush:
                    wait = timeout if self._urgent or metrics_timeout is None \
                        else max(timeout, metrics_timeout)
                    remaining = first + wait - time.monotonic()
                    if remaining <= 0:
                        return
                    self._cond.wait(remaining)
            finally:
                self._wake_at = 1

    def take(self) -> list[Item]:
        with self._cond:
            items, self._items, self.queued = self._items, [], 0
            self._urgent = self._flush = False
            self._busy = bool(items)
            return items

    def done(self) -> None:
        """The worker delivered (or spooled) what it took."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def drained(self, timeout: float) -> bool:
        """Wait until nothing is queued or in the worker's hands."""
        with self._cond:
            if self._items:
                self._flush = True  # a worker filling a batch sends what it has
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not self._items and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
