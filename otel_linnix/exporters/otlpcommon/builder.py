"""Records of one signal → one OTLP Export*ServiceRequest (or None when nothing maps)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import ResourceMetrics, ScopeMetrics

from otel_linnix import __version__
from otel_linnix.component import AgentContext, Signal
from otel_linnix.exporters.otlpcommon import wire
from otel_linnix.exporters.otlpcommon.logs import alert_log, process_log
from otel_linnix.exporters.otlpcommon.metrics import sample_metrics, telemetry_metrics
from otel_linnix.exporters.otlpcommon.resource import build_resource
from otel_linnix.exporters.otlpcommon.spans import SpanMapper
from otel_linnix.records import (
    AgentTelemetry,
    Alert,
    ProcessExec,
    ProcessExit,
    ProcessSample,
    process_key,
)


class EncodedTraces:
    """A trace export request already in wire form (spans are encoded straight to bytes);
    ``SerializeToString`` makes it interchangeable with the protobuf requests of the other
    signals, ``span_count`` saves parsing it back to count."""

    __slots__ = ("payload", "span_count")

    def __init__(self, payload: bytes, span_count: int) -> None:
        self.payload, self.span_count = payload, span_count

    def SerializeToString(self) -> bytes:  # noqa: N802 - the protobuf message method's name
        return self.payload


REQUEST_TYPES: dict[Signal, Any] = {Signal.TRACES: ExportTraceServiceRequest,
                 Signal.METRICS: ExportMetricsServiceRequest,
                 Signal.LOGS: ExportLogsServiceRequest}


class RequestBuilder:
    def __init__(self, ctx: AgentContext, exec_logs: bool = False, exit_logs: bool = False,
                 unfinished: bool = True) -> None:
        self._ctx = ctx
        self._scope = InstrumentationScope(name="otel-linnix", version=__version__)
        self.spans = SpanMapper(ctx, unfinished=unfinished)
        self._resource_bytes = build_resource(ctx.host).SerializeToString()
        self._scope_bytes = self._scope.SerializeToString()
        self._exec_logs, self._exit_logs = exec_logs, exit_logs

    def build(self, signal: Signal, records: list):
        if signal is Signal.TRACES:
            return self.traces(self.spans.add(records))
        if signal is Signal.METRICS:
            return self._metrics(records)
        return self._logs(records)

    def traces(self, spans: list[bytes]) -> EncodedTraces | None:
        if not spans:
            return None
        return EncodedTraces(wire.trace_request(self._resource_bytes, self._scope_bytes, spans),
                             len(spans))

    def _metrics(self, records: list):
        host = self._ctx.host
        metrics = sample_metrics([r for r in records if type(r) is ProcessSample], host)
        for rec in records:
            if type(rec) is AgentTelemetry:
                metrics += telemetry_metrics(rec.points, rec.time_unix_ns,
                                             rec.start_time_unix_ns)
        if not metrics:
            return None
        return ExportMetricsServiceRequest(resource_metrics=[ResourceMetrics(
            resource=build_resource(host),
            scope_metrics=[ScopeMetrics(scope=self._scope, metrics=metrics)])])

    def _logs(self, records: list):
        host = self._ctx.host
        out = []
        for rec in records:
            kind = type(rec)
            if kind is Alert:
                key = process_key(rec.subject.pid, rec.subject.start_ns)
                out.append(alert_log(rec, host, self.spans.trace_of(key)))
            elif (kind is ProcessExec and self._exec_logs) or (kind is ProcessExit and self._exit_logs):
                out.append(process_log(rec, host))
        if not out:
            return None
        return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
            resource=build_resource(host), scope_logs=[ScopeLogs(scope=self._scope,
                                                                 log_records=out)])])
