"""Samples and agent health → OTLP metrics, with the process.* semantic-convention names."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_CUMULATIVE,
    Gauge,
    Metric,
    NumberDataPoint,
    Sum,
)
from opentelemetry.semconv._incubating.attributes import process_attributes as P
from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_MODE
from opentelemetry.semconv._incubating.metrics import process_metrics as M

from otel_linnix.exporters.otlpcommon.resource import kv
from otel_linnix.host import HostInfo
from otel_linnix.records import ProcessSample
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


def sample_metrics(samples: list[ProcessSample], host: HostInfo) -> list[Metric]:
    cpu, mem, virt, fds, threads = [], [], [], [], []
    for s in samples:
        ts, start = host.wall_ns(s.ts_ns), host.wall_ns(s.start_ns)
        ident = {P.PROCESS_PID: s.pid, P.PROCESS_EXECUTABLE_NAME: s.comm}
        cpu.append(_point(s.cpu_user_ns / 1e9, ts, start, {**ident, CPU_MODE: "user"}))
        cpu.append(_point(s.cpu_system_ns / 1e9, ts, start, {**ident, CPU_MODE: "system"}))
        mem.append(_point(s.rss_bytes, ts, attrs=ident))
        virt.append(_point(s.vms_bytes, ts, attrs=ident))
        fds.append(_point(s.fds, ts, attrs=ident))
        threads.append(_point(s.threads, ts, attrs=ident))
    if not samples:
        return []
    return [_sum(M.PROCESS_CPU_TIME, "s", cpu), _gauge(M.PROCESS_MEMORY_USAGE, "By", mem),
            _gauge(M.PROCESS_MEMORY_VIRTUAL, "By", virt),
            _gauge(M.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT, "{file_descriptor}", fds),
            _gauge(M.PROCESS_THREAD_COUNT, "{thread}", threads)]


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
