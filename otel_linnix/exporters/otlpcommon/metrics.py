"""The agent's own health → OTLP metrics (process samples are written directly: metricwire)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_CUMULATIVE,
    Gauge,
    Metric,
    NumberDataPoint,
    Sum,
)

from otel_linnix.exporters.otlpcommon.resource import kv
from otel_linnix.telemetry import MetricPoint


def _point(value, ts: int, start: int = 0, attrs: dict | None = None) -> NumberDataPoint:
    point = NumberDataPoint(time_unix_nano=ts, start_time_unix_nano=start,
                            attributes=[kv(k, v) for k, v in (attrs or {}).items()])
    if isinstance(value, int):
        point.as_int = value
    else:
        point.as_double = value
    return point


def _gauge(name: str, unit: str, points: list[NumberDataPoint], desc: str = "") -> Metric:
    return Metric(name=name, unit=unit, description=desc, gauge=Gauge(data_points=points))


def _sum(name: str, unit: str, points: list[NumberDataPoint], desc: str = "") -> Metric:
    return Metric(name=name, unit=unit, description=desc, sum=Sum(
        data_points=points, is_monotonic=True,
        aggregation_temporality=AGGREGATION_TEMPORALITY_CUMULATIVE))


def telemetry_metrics(points: Sequence[MetricPoint], now_wall_ns: int, start_wall_ns: int
                      ) -> list[Metric]:
    """The agent's own counters (forks, lost events, export failures, ...) as OTLP metrics."""
    by_name: dict[str, list[MetricPoint]] = {}
    for p in points:
        by_name.setdefault(p.name, []).append(p)
    out = []
    for name, pts in by_name.items():
        first = pts[0]
        data = [_point(p.value, now_wall_ns, start_wall_ns if p.kind == "counter" else 0,
                       dict(p.labels)) for p in pts]
        make = _sum if first.kind == "counter" else _gauge
        out.append(make(name, first.unit, data, first.description))
    return out
