"""The OpenTelemetry Python SDK's ordinary per-span path, fed by the same eBPF receiver.

The agent's records go through ``TracerProvider`` + ``BatchSpanProcessor`` + ``OTLPSpanExporter``
(gRPC): one SDK span object per process lifetime, as a straightforward agent would do it. This
is the peer the agent's direct protobuf encoding is measured against.
``python -m bench.peers.sdk_agent ENDPOINT``; runs until SIGTERM, then flushes.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv._incubating.attributes import process_attributes as P

from otel_linnix.component import AgentContext, CreateSettings
from otel_linnix.config.schema import deep_merge
from otel_linnix.records import ProcessExit


class SdkSpans:
    """A receiver consumer: each ProcessExit becomes one SDK span with its real times."""

    def __init__(self, ctx: AgentContext, endpoint: str) -> None:
        self._host = ctx.host
        self.provider = TracerProvider(resource=Resource.create({"service.name": "sdk-peer"}))
        self.provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        self._tracer = self.provider.get_tracer("bench.peers.sdk_agent")

    def consume(self, records) -> None:
        for rec in records:
            if type(rec) is not ProcessExit:
                continue
            span = self._tracer.start_span(
                rec.exe.rsplit("/", 1)[-1] or rec.comm, start_time=self._host.wall_ns(rec.start_ns),
                attributes={P.PROCESS_PID: rec.pid, P.PROCESS_PARENT_PID: rec.ppid,
                            P.PROCESS_EXIT_CODE: rec.exit_code,
                            P.PROCESS_EXECUTABLE_PATH: rec.exe})
            span.end(end_time=self._host.wall_ns(rec.exit_ns))


def main() -> int:
    from otel_linnix.receivers.ebpf_process import FACTORY

    logging.basicConfig(level=logging.WARNING)
    ctx = AgentContext.create()
    receiver = FACTORY.create(CreateSettings("ebpf_process", ctx, logging.getLogger("sdk-peer")),
                              deep_merge(FACTORY.defaults, {}))
    sink = SdkSpans(ctx, sys.argv[1])
    receiver.consumer = sink
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    receiver.start()
    print("ready", file=sys.stderr, flush=True)
    while not stop.wait(0.5):  # a bare wait() would not see SIGTERM promptly
        pass
    receiver.shutdown()
    sink.provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
