"""The sink keeps one row per span (pid, ppid, times) and per alert log record, in its process."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from bench.otlp_sink import CompactServer


def _kv(key, value):
    v = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


def test_rows_for_spans_and_alert_logs(tmp_path):
    server = CompactServer()
    spans = [Span(name="true", start_time_unix_nano=10 + i, end_time_unix_nano=20 + i,
                  attributes=[_kv("process.executable.name", "true"), _kv("process.pid", 50 + i),
                              _kv("process.parent_pid", 40)]) for i in range(3)]
    server._accept("traces", trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]))
    logs = [LogRecord(time_unix_nano=99, attributes=[_kv("otel_linnix.alert.rule", "fork_storm"),
                                                     _kv("otel_linnix.alert.state", "firing")]),
            LogRecord(time_unix_nano=98, attributes=[_kv("event.name", "process.exit")])]
    server._accept("logs", logs_service_pb2.ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(scope_logs=[ScopeLogs(log_records=logs)])]))
    assert server.stats() == {"spans": 3, "logs": 1}
    server.dump(str(tmp_path / "d.json"))
    data = json.loads((tmp_path / "d.json").read_text())
    assert [row[:4] for row in data["spans"]] == [[50 + i, 40, 10 + i, 20 + i] for i in range(3)]
    assert all(row[4] > 0 for row in data["spans"])  # receive wall time
    assert [row[:3] for row in data["logs"]] == [["fork_storm", "firing", 99]]
