"""Processes a rule wants sampled every tick, whatever the top-N says.

The rules processor adds subjects it is tracking (a growing RSS, a climbing fd count); the
receiver's sampler reads the set. Bounded: beyond ``capacity`` the oldest entry is dropped and
counted, so a rule cannot make the sampler unbounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from otel_linnix.records import ProcessKey
from otel_linnix.telemetry import Telemetry


class WatchList:
    def __init__(self, capacity: int = 256, telemetry: Telemetry | None = None) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[ProcessKey, float] = OrderedDict()
        self._lock = threading.Lock()
        telemetry = telemetry or Telemetry()
        self._dropped = telemetry.counter(
            "otel_linnix.watchlist.dropped", "Watched processes dropped from the full watch list")

    def watch(self, key: ProcessKey, ttl_s: float = 300.0) -> None:
        """Keep sampling ``key`` for ``ttl_s`` seconds (renewed by calling again)."""
        with self._lock:
            self._entries[key] = time.monotonic() + ttl_s
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
                self._dropped.add()

    def keys(self) -> list[ProcessKey]:
        """Live entries (expired ones are removed)."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, until in self._entries.items() if until < now]:
                del self._entries[key]
            return list(self._entries)
