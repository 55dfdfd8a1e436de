"""µs per process lifetime to build and serialize OTLP spans: our direct protobuf path vs the
OpenTelemetry Python SDK's per-span objects + its OTLP encoder (given fewer attributes and no
events, so the comparison flatters the SDK), then the otlp exporter's worker-thread CPU end to
end (map, serialize, gzip, send to a local receiver; gRPC core's own threads not counted).
Run: python bench/span_encoding.py [lifetimes]
"""

from __future__ import annotations

import sys
import time

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from otel_linnix.component import Signal
from otel_linnix.exporters.otlpcommon.builder import RequestBuilder
from otel_linnix.exporters.otlpcommon.ids import span_id, trace_id
from otel_linnix.records import ProcessExit, process_key
from otel_linnix.testing import random_tree, test_context


def direct(records, ctx) -> float:
    builder = RequestBuilder(ctx)
    ctx.process_table.apply(records)  # as the receiver does first: exits get their tree root
    t0 = time.perf_counter()
    request = builder.build(Signal.TRACES, records)
    request.SerializeToString()
    return time.perf_counter() - t0


class _Collect(SpanExporter):
    def __init__(self):
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def sdk(records, ctx) -> float:
    sink = _Collect()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(sink))
    tracer = provider.get_tracer("otel-linnix")
    boot = ctx.host.boot_id
    t0 = time.perf_counter()
    for rec in records:
        if type(rec) is not ProcessExit:
            continue
        parent = SpanContext(int.from_bytes(trace_id(boot, (1000, 0)), "big"),
                             int.from_bytes(span_id(boot, process_key(rec.ppid, rec.parent_start_ns)), "big"),
                             is_remote=True, trace_flags=TraceFlags(1))
        span = tracer.start_span(rec.exe.rsplit("/", 1)[-1], set_span_in_context(NonRecordingSpan(parent)),
                                 start_time=ctx.host.wall_ns(rec.start_ns),
                                 attributes={"process.pid": rec.pid, "process.parent_pid": rec.ppid,
                                             "process.executable.path": rec.exe,
                                             "process.command_args": list(rec.argv),
                                             "process.exit.code": rec.exit_code})
        span.end(end_time=ctx.host.wall_ns(rec.exit_ns))
    encode_spans(sink.spans).SerializeToString()
    return time.perf_counter() - t0


def exporter_thread(records, ctx) -> float:
    """CPU of the otlp exporter's worker thread (map, serialize, gzip, gRPC send) for the whole
    tree, delivered to a real OTLP receiver on 127.0.0.1 (its CPU is not counted)."""
    import logging
    import tempfile

    from otel_linnix.component import CreateSettings
    from otel_linnix.config.schema import deep_merge
    from otel_linnix.exporters.otlp import FACTORY
    from otel_linnix.testing.otlp_server import OTLPServer

    server = OTLPServer()
    port = server.start_grpc()
    with tempfile.TemporaryDirectory() as spool:
        config = deep_merge(FACTORY.defaults, {
            "endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
            "export_unfinished": False, "spool": {"directory": spool}})
        exporter = FACTORY.create(CreateSettings("otlp", ctx, logging.getLogger("bench")), config)
        exporter.start()
        tid = exporter._thread.native_id
        exits = sum(1 for r in records if type(r) is ProcessExit)
        before = _thread_cpu(tid)
        for i in range(0, len(records), 512):  # receiver-sized batches
            exporter.consume(Signal.TRACES, records[i:i + 512])
        server.wait_for_spans(exits, 120)
        used = _thread_cpu(tid) - before
        exporter.shutdown(5)
    server.stop()
    return used


def _thread_cpu(tid: int) -> float:
    import os

    with open(f"/proc/self/task/{tid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(n: int = 20000) -> None:
    ctx = test_context()
    records = random_tree(n)
    for name, fn in (("direct protobuf", direct), ("OTel SDK spans + encoder", sdk)):
        best = min(fn(records, ctx) for _ in range(3))
        print(f"{name:26s} {best / n * 1e6:7.1f} µs per lifetime ({n} lifetimes, best of 3)")
    used = exporter_thread(records, test_context())
    print(f"{'otlp exporter thread CPU':26s} {used / n * 1e6:7.1f} µs per lifetime "
          f"(map + serialize + gzip + gRPC, {n} lifetimes, 10 ms tick resolution)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
