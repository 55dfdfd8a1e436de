"""Live process events for SSE clients: a bounded replay buffer plus bounded per-client queues.

The receiver's thread only appends to the ring buffer and hands each event to every client's
queue (``call_soon_threadsafe``); a client whose queue is full is disconnected and counted,
never allowed to grow memory or slow the event path.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Sequence

from otel_linnix.api import views
from otel_linnix.component import AgentContext
from otel_linnix.records import Record

_OVERFLOW = object()


class Client:
    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, filters) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=size)
        self.filters = filters
        self.dropped = False

    def offer(self, item) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(_OVERFLOW)


class EventHub:
    def __init__(self, ctx: AgentContext, buffer: int, client_queue: int) -> None:
        self.ctx = ctx
        self.buffer: deque[tuple[int, dict]] = deque(maxlen=buffer)
        self.client_queue = client_queue
        self.clients: set[Client] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        t = ctx.telemetry
        self.dropped_clients = t.counter("otel_linnix.api.stream.dropped_clients",
                                         "SSE clients disconnected for not keeping up")
        self.dropped_alerts = t.counter("otel_linnix.api.alerts.dropped",
                                        "Alerts not sent to an SSE client that fell behind")
        t.gauge("otel_linnix.api.stream.clients", "Connected SSE clients",
                callback=lambda: len(self.clients))
        self._unsubscribe = ctx.bus.subscribe(self.publish)

    def publish(self, records: Sequence[Record]) -> None:
        host = self.ctx.host
        with self._lock:
            clients = list(self.clients)
            items = []
            for rec in records:
                for data in views.events(rec, host):
                    item = (next(self._ids), data)
                    self.buffer.append(item)
                    items.append(item)
        for client in clients:
            wanted = [i for i in items if client.filters(i[1])]
            if wanted:
                client.loop.call_soon_threadsafe(self._deliver, client, wanted)

    def _deliver(self, client: Client, items) -> None:
        if client.dropped:
            return
        for item in items:
            client.offer(item)
            if client.dropped:
                self.dropped_clients.add()
                return

    def attach(self, loop, filters, last_id: int | None) -> Client:
        client = Client(loop, self.client_queue, filters)
        with self._lock:
            if last_id is not None:
                for item in self.buffer:
                    if item[0] > last_id and filters(item[1]):
                        client.offer(item)
            self.clients.add(client)
        return client

    def detach(self, client: Client) -> None:
        with self._lock:
            self.clients.discard(client)

    def close(self) -> None:
        self._unsubscribe()


def is_overflow(item) -> bool:
    return item is _OVERFLOW
