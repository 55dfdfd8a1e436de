"""Process samples → OTLP metric bytes, written directly as the spans are (``wire``).

Every sampling tick turns the top processes into six data points each; building them as
protobuf objects (a NumberDataPoint and two or three KeyValues per point, then the nesting)
was most of the exporter's work on an idle host. The shapes are few and fixed, so they are
written here, and tests/exporters/otlp/test_metricwire.py parses them back against the message
the protobuf library builds from the same samples (``metrics.sample_metrics``).
"""

from __future__ import annotations

import struct

from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE
from opentelemetry.semconv._incubating.attributes import process_attributes as P
from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_MODE
from opentelemetry.semconv._incubating.metrics import process_metrics as M

from otel_linnix.exporters.otlpcommon.wire import delimited, key_value, varint
from otel_linnix.host import HostInfo
from otel_linnix.records import ProcessSample

# NumberDataPoint: attributes 7, start_time_unix_nano 2 / time_unix_nano 3 (fixed64),
# as_double 4 (double), as_int 6 (sfixed64)
_POINT_ATTR = b"\x3a"
_TIMES = struct.Struct("<BQBQ")  # start and time, each behind its tag
_TIME = struct.Struct("<BQ")
_AS_DOUBLE = struct.Struct("<Bd")
_AS_INT = struct.Struct("<Bq")
_START_TAG, _TIME_TAG, _DOUBLE_TAG, _INT_TAG = 0x11, 0x19, 0x21, 0x31
# Metric: name 1, unit 3, gauge 5, sum 7; Gauge / Sum: data_points 1; Sum: temporality 2,
# is_monotonic 3. ScopeMetrics.metrics is field 2.
_NAME, _UNIT, _GAUGE, _SUM, _POINT, _SCOPE_METRIC = b"\x0a", b"\x1a", b"\x2a", b"\x3a", b"\x0a", b"\x12"
_CUMULATIVE_MONOTONIC = b"\x10" + bytes((AGGREGATION_TEMPORALITY_CUMULATIVE,)) + b"\x18\x01"


def _attr(key: str, value) -> bytes:
    return delimited(_POINT_ATTR, key_value(key, value))


_USER, _SYSTEM = _attr(CPU_MODE, "user"), _attr(CPU_MODE, "system")


def _metric(name: str, unit: str, kind: bytes, points: list[bytes], trailer: bytes = b"") -> bytes:
    """One Metric as a ScopeMetrics.metrics field."""
    body = b"".join([_POINT + varint(len(p)) + p for p in points])
    data = delimited(kind, body + trailer)
    return delimited(_SCOPE_METRIC, delimited(_NAME, name.encode()) +
                      delimited(_UNIT, unit.encode()) + data)


class SampleEncoder:
    """The metrics of a tick's samples, as the ``metrics`` fields of a ScopeMetrics.

    A process's identity attributes (pid, executable name) are encoded once and reused for its
    six points; executable names repeat across ticks and are cached (bounded)."""

    def __init__(self, max_names: int = 4096) -> None:
        self._max_names = max_names
        self._names: dict[str, bytes] = {}

    def _ident(self, sample: ProcessSample) -> bytes:
        name = self._names.get(sample.comm)
        if name is None:
            if len(self._names) >= self._max_names:
                self._names.clear()
            name = self._names[sample.comm] = _attr(P.PROCESS_EXECUTABLE_NAME, sample.comm)
        return _attr(P.PROCESS_PID, sample.pid) + name

    def metrics(self, samples: list[ProcessSample], host: HostInfo) -> bytes:
        if not samples:
            return b""
        cpu, mem, virt, fds, threads = [], [], [], [], []
        for s in samples:
            ident = self._ident(s)
            ts = host.wall_ns(s.ts_ns)
            times = _TIMES.pack(_START_TAG, host.wall_ns(s.start_ns), _TIME_TAG, ts)
            cpu.append(times + _AS_DOUBLE.pack(_DOUBLE_TAG, s.cpu_user_ns / 1e9) + ident + _USER)
            cpu.append(times + _AS_DOUBLE.pack(_DOUBLE_TAG, s.cpu_system_ns / 1e9) + ident
                       + _SYSTEM)
            at = _TIME.pack(_TIME_TAG, ts)
            mem.append(at + _AS_INT.pack(_INT_TAG, s.rss_bytes) + ident)
            virt.append(at + _AS_INT.pack(_INT_TAG, s.vms_bytes) + ident)
            fds.append(at + _AS_INT.pack(_INT_TAG, s.fds) + ident)
            threads.append(at + _AS_INT.pack(_INT_TAG, s.threads) + ident)
        return b"".join((
            _metric(M.PROCESS_CPU_TIME, "s", _SUM, cpu, _CUMULATIVE_MONOTONIC),
            _metric(M.PROCESS_MEMORY_USAGE, "By", _GAUGE, mem),
            _metric(M.PROCESS_MEMORY_VIRTUAL, "By", _GAUGE, virt),
            _metric(M.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT, "{file_descriptor}", _GAUGE, fds),
            _metric(M.PROCESS_THREAD_COUNT, "{thread}", _GAUGE, threads)))
