"""Records of one signal → one OTLP Export*ServiceRequest (or None when nothing maps)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
from otel_linnix.exporters.otlpcommon.metrics import telemetry_metrics
from otel_linnix.exporters.otlpcommon.metricwire import SampleEncoder
from otel_linnix.exporters.otlpcommon.resource import (
    Resources,
    Workload,
    build_resource,
    workload_of,
)
from otel_linnix.exporters.otlpcommon.spans import SpanMapper
from otel_linnix.records import (
    AgentTelemetry,
    Alert,
    ProcessExec,
    ProcessExit,
    ProcessRunning,
    ProcessSample,
    process_key,
)


class Encoded:
    """An export request already in wire form (spans and samples are encoded straight to
    bytes); ``SerializeToString`` makes it interchangeable with the protobuf requests of the
    other signals, ``span_count`` saves parsing it back to count."""

    __slots__ = ("payload", "span_count")

    def __init__(self, payload: bytes, span_count: int = 0) -> None:
        self.payload, self.span_count = payload, span_count

    def SerializeToString(self) -> bytes:  # noqa: N802 - the protobuf message method's name
        return self.payload


class MappedSpans:
    """A batch's trace records mapped to span fields, by workload (``RequestBuilder.map_spans``):
    what an exporter queues for traces. Its length is the records it was made from, the unit
    the queue bounds and drops count in for every signal."""

    __slots__ = ("groups", "records")

    def __init__(self, groups: dict[Workload, list[bytes]], records: int) -> None:
        self.groups = groups
        self.records = records

    def __len__(self) -> int:
        return self.records


# ExportMetricsServiceRequest.resource_metrics 1; ResourceMetrics: resource 1, scope_metrics 2;
# ScopeMetrics.scope 1
_RESOURCE_METRICS, _RM_RESOURCE, _RM_SCOPE_METRICS, _SCOPE = b"\x0a", b"\x0a", b"\x12", b"\x0a"

REQUEST_TYPES: dict[Signal, Any] = {Signal.TRACES: ExportTraceServiceRequest,
                 Signal.METRICS: ExportMetricsServiceRequest,
                 Signal.LOGS: ExportLogsServiceRequest}


class RequestBuilder:
    def __init__(self, ctx: AgentContext, exec_logs: bool = False, exit_logs: bool = False,
                 unfinished: bool = True) -> None:
        self.ctx = ctx
        self._scope = InstrumentationScope(name="otel-linnix", version=__version__)
        self.spans = SpanMapper(ctx, unfinished=unfinished)
        self._resources = Resources(ctx.host)
        self._scope_bytes = self._scope.SerializeToString()
        self._scope_field = wire.delimited(_SCOPE, self._scope_bytes)
        self._samples = SampleEncoder()
        self._exec_logs, self._exit_logs = exec_logs, exit_logs
        # an exit may stand for execs (``ProcessExit.execs_folded``): exec logs need exits too
        logged = {Alert} | ({ProcessExec, ProcessExit} if exec_logs else set()) | \
            ({ProcessExit} if exit_logs else set())
        self._mapped: dict[Signal, frozenset[type]] = {
            Signal.TRACES: frozenset({ProcessExit, ProcessRunning, ProcessExec, Alert}),
            Signal.METRICS: frozenset({ProcessSample, AgentTelemetry}),
            Signal.LOGS: frozenset(logged)}
        #: The last batch asked about and its record types: every pipeline hands the same
        #: batch to this exporter once per signal.
        self._typed: tuple[object, frozenset[type]] = (None, frozenset())
        self._mapping = threading.Lock()

    def maps_any(self, signal: Signal, records) -> bool:
        """Whether any of ``records`` becomes (part of) this signal's data. A pipeline hands
        every batch to every signal: the sampler's to the traces pipeline too, the receiver's
        fork storm to the metrics one; queueing them would only wake the exporter for nothing
        (and a batch of spans is sent sooner than one of metrics)."""
        typed = self._typed  # one (batch, its record types) pair, replaced whole: the sampler
        if typed[0] is not records:  # thread calls this too
            typed = self._typed = (records, frozenset(map(type, records)))
        return not self._mapped[signal].isdisjoint(typed[1])

    def build(self, signal: Signal, records: list):
        if signal is Signal.TRACES:  # the exporter queues map_spans' batches: one path
            return self.traces(self.map_spans(records).groups)
        if signal is Signal.METRICS:
            return self._metrics(records)
        return self._logs(records)

    def map_spans(self, records) -> MappedSpans:
        """The spans ``records`` finish, built on the thread that hands them on (the receiver's,
        or the sampler's for reports of running processes) while they are still in its CPU's
        cache: the same work on the exporter's thread, a batch later and often on another core,
        cost about a fifth more per lifetime in a saturated fork storm. The lock keeps the two
        callers' batches whole, and so exec events and alerts before the spans they belong to."""
        with self._mapping:
            return MappedSpans(self.spans.add(records), len(records))

    def trace_requests(self, batches: list[MappedSpans], max_spans: int) -> Iterator[Encoded]:
        """Requests of at most ``max_spans`` spans each, from queued batches, one ResourceSpans
        per workload per request."""
        merged: dict[Workload, list[bytes]] = {}
        for batch in batches:
            for workload, spans in batch.groups.items():
                merged.setdefault(workload, []).extend(spans)
        chunk: dict[Workload, list[bytes]] = {}
        room = max_spans
        for workload, spans in merged.items():
            while spans:
                chunk[workload], spans = spans[:room], spans[room:]
                room -= len(chunk[workload])
                if not room:
                    yield self.traces(chunk)  # type: ignore[misc]  # never None: spans in it
                    chunk, room = {}, max_spans
        if chunk:
            yield self.traces(chunk)  # type: ignore[misc]

    def traces(self, groups: dict[Workload, list[bytes]]) -> Encoded | None:
        """One ResourceSpans per container / pod (and one for the host's own processes)."""
        if not groups:
            return None
        encoded = self._resources.encoded
        return Encoded(wire.trace_request(
            [(encoded(workload), spans) for workload, spans in groups.items()],
            self._scope_bytes), sum(len(spans) for spans in groups.values()))

    def _metrics(self, records: list) -> Encoded | None:
        host = self.ctx.host
        samples: dict[Workload, list[ProcessSample]] = {}
        agent = []
        for rec in records:
            kind = type(rec)
            if kind is ProcessSample:
                samples.setdefault(workload_of(rec.cgroup_path), []).append(rec)
            elif kind is AgentTelemetry:
                agent += telemetry_metrics(rec.points, rec.time_unix_ns, rec.start_time_unix_ns)
        encoded = self._resources.encoded
        out = [self._resource_metrics(encoded(workload),
                                      self._scope_field + self._samples.metrics(group, host))
               for workload, group in samples.items()]
        if agent:  # the agent's own: its own pod, not the processes it watches (every 10 s)
            out.append(wire.delimited(_RESOURCE_METRICS, ResourceMetrics(
                resource=build_resource(host, agent=True),
                scope_metrics=[ScopeMetrics(scope=self._scope, metrics=agent)],
            ).SerializeToString()))
        return Encoded(b"".join(out)) if out else None

    @staticmethod
    def _resource_metrics(resource: bytes, scope_metrics: bytes) -> bytes:
        return wire.delimited(_RESOURCE_METRICS, wire.delimited(_RM_RESOURCE, resource) +
                              wire.delimited(_RM_SCOPE_METRICS, scope_metrics))

    def _logs(self, records: list):
        host = self.ctx.host
        groups: dict[Workload, list] = {}
        for rec in records:
            kind = type(rec)
            if kind is Alert:
                key = process_key(rec.subject.pid, rec.subject.start_ns)
                groups.setdefault((rec.subject.container_id, rec.subject.pod_uid), []).append(
                    alert_log(rec, host, self.spans.trace_of(key)))
            elif kind is ProcessExit:
                # the execs it stands for (in the workload it ended in), then itself
                logs = [process_log(e, host) for e in rec.execs_folded] if self._exec_logs \
                    else []
                if self._exit_logs:
                    logs.append(process_log(rec, host))
                if logs:
                    groups.setdefault(workload_of(rec.cgroup_path), []).extend(logs)
            elif kind is ProcessExec and self._exec_logs:
                groups.setdefault(self._workload_of_process(rec), []).append(
                    process_log(rec, host))
        if not groups:
            return None
        return ExportLogsServiceRequest(resource_logs=[
            ResourceLogs(resource=self._resources.message(workload),
                         scope_logs=[ScopeLogs(scope=self._scope, log_records=logs)])
            for workload, logs in groups.items()])

    def _workload_of_process(self, rec: ProcessExec) -> Workload:
        """An exec's workload is the table's (the process is live)."""
        proc = self.ctx.process_table.get_key(rec.key)
        return workload_of(proc.cgroup_path if proc is not None else "")
