"""The sink keeps one row per span (pid, ppid, times) and per alert log record, in its process."""

from __future__ import annotations

import json

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from bench.otlp_sink import CompactServer


def _kv(key, value):
    v = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


def test_rows_for_spans_and_alert_logs(tmp_path):
    """Real gRPC requests, so a change in the base server's hook shows here."""
    server = CompactServer()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.start_grpc(0)}")
    try:
        _export(server, channel, tmp_path)
    finally:
        channel.close()
        server.stop()


def _export(server, channel, tmp_path):
    spans = [Span(name="true", start_time_unix_nano=10 + i, end_time_unix_nano=20 + i,
                  attributes=[_kv("process.executable.name", "true"), _kv("process.pid", 50 + i),
                              _kv("process.parent_pid", 40)]) for i in range(3)]
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(
        trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
            ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]), timeout=10)
    logs = [LogRecord(time_unix_nano=99, attributes=[_kv("otel_linnix.alert.rule", "fork_storm"),
                                                     _kv("otel_linnix.alert.state", "firing")]),
            LogRecord(time_unix_nano=98, attributes=[_kv("event.name", "process.exit")])]
    logs_service_pb2_grpc.LogsServiceStub(channel).Export(
        logs_service_pb2.ExportLogsServiceRequest(resource_logs=[
            ResourceLogs(scope_logs=[ScopeLogs(log_records=logs)])]), timeout=10)
    assert server.stats() == {"spans": 3, "logs": 1}
    server.dump(str(tmp_path / "d.json"))
    data = json.loads((tmp_path / "d.json").read_text())
    assert [row[:4] for row in data["spans"]] == [[50 + i, 40, 10 + i, 20 + i] for i in range(3)]
    assert all(row[4] > 0 for row in data["spans"])  # receive wall time
    assert [row[:3] for row in data["logs"]] == [["fork_storm", "firing", 99]]
