"""A tiny traced HTTP service that shells out on every request.

Its request spans come from the OpenTelemetry SDK; the processes it starts come from
otel-linnix, which reads the TRACEPARENT this service puts in each child's environment (the
OpenTelemetry convention for carrying context into a child process) and makes the child's
process span a child of the request span. In Tempo one trace then shows the request with the
shell and every command it ran beneath it.

    python app.py [PORT]     (0: any free port; prints "listening on HOST PORT")

The SDK reads OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4317) and the other
OTEL_* variables as usual.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "traced-app"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("traced-app")


def child_env() -> dict[str, str]:
    """This process's environment plus the current span's context as TRACEPARENT /
    TRACESTATE (the W3C propagator writes lower-case keys; environment carriers use upper)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {**os.environ, **{key.upper(): value for key, value in carrier.items()}}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        with tracer.start_as_current_span(f"GET {self.path}", kind=trace.SpanKind.SERVER):
            report = subprocess.run(["sh", "-c", "uname -sr; date -u +%FT%TZ"],
                                    env=child_env(), capture_output=True, text=True, timeout=10)
            body = report.stdout.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    host = os.environ.get("TRACED_APP_HOST", "127.0.0.1")  # 0.0.0.0 inside a container
    server = ThreadingHTTPServer((host, int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through the flush below
    print(f"listening on {server.server_address[0]} {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        provider.shutdown()  # flush the last request spans


if __name__ == "__main__":
    main()
