"""Firing and recent alerts, shared between the rules processor (writer) and the API (reader).

Bounded: at most ``capacity`` recent alerts are kept; firing alerts stay until resolved or
until the firing set itself hits its cap (then the oldest is dropped and counted).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace

from otel_linnix.records import Alert
from otel_linnix.telemetry import Telemetry

Listener = Callable[[Alert], None]


class AlertStore:
    def __init__(self, capacity: int = 1000, telemetry: Telemetry | None = None) -> None:
        self._recent: deque[Alert] = deque(maxlen=capacity)
        self._firing: OrderedDict[str, Alert] = OrderedDict()
        self._capacity = capacity
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        telemetry = telemetry or Telemetry()
        self._dropped = telemetry.counter(
            "otel_linnix.alerts.store_dropped", "Firing alerts dropped from the full alert store")

    def add(self, alert: Alert) -> None:
        """Record a firing or resolved alert (the same id updates in place) and notify."""
        with self._lock:
            if alert.state == "firing":
                self._firing[alert.id] = alert
                self._firing.move_to_end(alert.id)
                while len(self._firing) > self._capacity:
                    self._firing.popitem(last=False)
                    self._dropped.add()
            else:
                self._firing.pop(alert.id, None)
            self._recent.append(alert)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(alert)

    def firing(self) -> list[Alert]:
        with self._lock:
            return [replace(a) for a in self._firing.values()]

    def recent(self, limit: int | None = None) -> list[Alert]:
        with self._lock:
            items = list(self._recent)
        return [replace(a) for a in (items[-limit:] if limit else items)]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every new alert (from the writer's thread: keep it non-blocking)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
