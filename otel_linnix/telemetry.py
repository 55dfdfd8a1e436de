"""The agent's own health metrics: every component counts what it saw, queued, dropped, failed.

A tiny in-process registry rather than the OTel SDK's MeterProvider: components upstream of the
exporters must not touch SDK types, and exporters (Prometheus, OTLP) read a plain snapshot.
Names are OTel-style dotted names (``otel_linnix.receiver.events``); the Prometheus exporter
turns them into ``otel_linnix_receiver_events_total``. Label sets per metric are capped; extra
series fold into one ``overflow="true"`` series, so a hostile label value cannot grow memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Labels = tuple[tuple[str, str], ...]

#: Distinct label sets kept per metric before folding into the overflow series.
MAX_SERIES_PER_METRIC = 256
_OVERFLOW: Labels = (("overflow", "true"),)


@dataclass(slots=True, frozen=True)
class MetricPoint:
    name: str
    kind: str  # "counter" | "gauge"
    description: str
    unit: str
    labels: Labels
    value: float


class _Metric:
    kind = "counter"

    def __init__(self, name: str, description: str, unit: str) -> None:
        self.name = name
        self.description = description
        self.unit = unit
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def _series(self, labels: Labels) -> Labels:
        if labels in self._values or len(self._values) < MAX_SERIES_PER_METRIC:
            return labels
        return _OVERFLOW

    def points(self) -> Iterator[MetricPoint]:
        with self._lock:
            items = list(self._values.items()) or [((), 0)]
        for labels, value in items:
            yield MetricPoint(self.name, self.kind, self.description, self.unit, labels, value)


class Counter(_Metric):
    """Monotonic count. ``add`` is cheap enough for the event path (one dict update)."""

    def add(self, amount: float = 1, labels: Labels = ()) -> None:
        with self._lock:
            key = self._series(labels)
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, labels: Labels = ()) -> float:
        return self._values.get(labels, 0)


class Gauge(_Metric):
    """A current value: set directly, or read from a callback at snapshot time."""

    kind = "gauge"

    def __init__(self, name: str, description: str, unit: str,
                 callback: Callable[[], float] | None = None) -> None:
        super().__init__(name, description, unit)
        self._callback = callback

    def set(self, value: float, labels: Labels = ()) -> None:
        with self._lock:
            self._values[self._series(labels)] = value

    def value(self, labels: Labels = ()) -> float:
        if self._callback is not None:
            return float(self._callback())
        return self._values.get(labels, 0)

    def points(self) -> Iterator[MetricPoint]:
        if self._callback is None:
            yield from super().points()
            return
        try:
            value = float(self._callback())
        except Exception:  # a failing callback must not break a scrape
            return
        yield MetricPoint(self.name, self.kind, self.description, self.unit, (), value)


class Telemetry:
    """Registry of the agent's health metrics; get-or-create by name, so restarts share series."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def counter(self, name: str, description: str, unit: str = "1") -> Counter:
        return self._get_or_create(Counter, name, description, unit)

    def gauge(self, name: str, description: str, unit: str = "1",
              callback: Callable[[], float] | None = None) -> Gauge:
        with self._lock:
            existing = self._metrics.get(name)
            if existing is None or callback is not None:
                existing = Gauge(name, description, unit, callback)
                self._metrics[name] = existing
            return existing  # type: ignore[return-value]

    def _get_or_create(self, cls, name, description, unit):
        with self._lock:
            metric = self._metrics.get(name)
            if metric is None:
                metric = cls(name, description, unit)
                self._metrics[name] = metric
            elif not isinstance(metric, cls):
                raise ValueError(f"metric {name} already registered as {metric.kind}")
            return metric

    def get(self, name: str) -> _Metric | None:
        return self._metrics.get(name)

    def snapshot(self) -> list[MetricPoint]:
        with self._lock:
            metrics = list(self._metrics.values())
        return [point for metric in metrics for point in metric.points()]
