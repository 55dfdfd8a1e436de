"""A real OTLP receiver for tests and the benchmark: gRPC services and an HTTP/protobuf endpoint.

It records every request it accepts (decoded) with its arrival time, and can be told to behave
badly: be down (refuse connections), fail with a gRPC status (optionally carrying a RetryInfo
delay) or an HTTP status (optionally with Retry-After), or hang.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass
class Received:
    traces: list = field(default_factory=list)
    metrics: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    arrival: list = field(default_factory=list)  # (signal, wall time) per accepted request
    attempts: int = 0
    headers: list = field(default_factory=list)  # lower-cased request headers per request


class Behaviour:
    """What the server does with the next requests: accept, fail, or hang."""

    def __init__(self) -> None:
        self.grpc_status: grpc.StatusCode | None = None
        self.http_status: int | None = None
        self.retry_after: str | None = None  # HTTP Retry-After header value
        self.retry_info_s: float | None = None  # gRPC RetryInfo delay in failures
        self.hang_s: float = 0.0


class OTLPServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.received = Received()
        self.behaviour = Behaviour()
        self._lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        self._http: http.server.ThreadingHTTPServer | None = None
        self.grpc_port = 0
        self.http_port = 0

    # ---- what arrived ----------------------------------------------------------------------

    def spans(self) -> list:
        with self._lock:
            return [s for req in self.received.traces for rs in req.resource_spans
                    for ss in rs.scope_spans for s in ss.spans]

    def spans_of(self, pid: int, timeout: float = 20.0) -> list:
        """Spans whose process.pid is ``pid``, waiting for the first (the host runs other work
        meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.spans()
                     if attributes(s).get("process.pid") == {"intValue": str(pid)}]
            if found:
                return found
            time.sleep(0.05)
        return []

    def log_records(self) -> list:
        with self._lock:
            return [r for req in self.received.logs for rl in req.resource_logs
                    for sl in rl.scope_logs for r in sl.log_records]

    def metric_names(self) -> set[str]:
        with self._lock:
            return {m.name for req in self.received.metrics for rm in req.resource_metrics
                    for sm in rm.scope_metrics for m in sm.metrics}

    def wait_for_spans(self, n: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.spans()) >= n:
                return True
            time.sleep(0.05)
        return False

    def _accept(self, kind: str, request, headers: dict | None = None) -> str | None:
        """Record ``request`` unless told to fail; returns a failure to report, or None."""
        with self._lock:
            self.received.attempts += 1
        if self.behaviour.hang_s:
            time.sleep(self.behaviour.hang_s)
        with self._lock:
            getattr(self.received, kind).append(request)
            self.received.headers.append(headers or {})
            self.received.arrival.append((kind, time.time()))
        return None

    # ---- gRPC ------------------------------------------------------------------------------

    def start_grpc(self, port: int = 0, tls=None) -> int:
        """Serve gRPC; with ``tls`` (a testing.tls.TestCerts) over TLS requiring a client
        certificate signed by the test CA."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        outer = self

        def handler(kind, response_cls):
            def export(request, context):
                if outer.behaviour.grpc_status is not None:
                    with outer._lock:
                        outer.received.attempts += 1
                    delay = outer.behaviour.retry_info_s
                    if delay is not None:
                        context.set_trailing_metadata(
                            [("grpc-status-details-bin", _retry_info(
                                outer.behaviour.grpc_status, delay))])
                    context.abort(outer.behaviour.grpc_status, "told to fail")
                outer._accept(kind, request, dict(context.invocation_metadata()))
                return response_cls()
            return export

        trace = type("T", (trace_service_pb2_grpc.TraceServiceServicer,), {
            "Export": staticmethod(handler("traces", trace_service_pb2.ExportTraceServiceResponse))})
        metrics = type("M", (metrics_service_pb2_grpc.MetricsServiceServicer,), {
            "Export": staticmethod(handler("metrics",
                                           metrics_service_pb2.ExportMetricsServiceResponse))})
        logs = type("L", (logs_service_pb2_grpc.LogsServiceServicer,), {
            "Export": staticmethod(handler("logs", logs_service_pb2.ExportLogsServiceResponse))})
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Bound(trace), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Bound(metrics), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Bound(logs), server)
        if tls is None:
            self.grpc_port = server.add_insecure_port(f"{self.host}:{port}")
        else:
            creds = grpc.ssl_server_credentials(
                [(tls.server_key.read_bytes(), tls.server_cert.read_bytes())],
                root_certificates=tls.ca.read_bytes(), require_client_auth=True)
            self.grpc_port = server.add_secure_port(f"{self.host}:{port}", creds)
        server.start()
        self._grpc = server
        return self.grpc_port

    def stop_grpc(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=0).wait()
            self._grpc = None

    # ---- HTTP ------------------------------------------------------------------------------

    def start_http(self, port: int = 0, tls=None) -> int:
        """Serve OTLP/HTTP; with ``tls`` over HTTPS requiring a client certificate."""
        outer = self
        routes: dict[str, tuple[str, Any, Any]] = {"/v1/traces": ("traces", trace_service_pb2.ExportTraceServiceRequest,
                                 trace_service_pb2.ExportTraceServiceResponse),
                  "/v1/metrics": ("metrics", metrics_service_pb2.ExportMetricsServiceRequest,
                                  metrics_service_pb2.ExportMetricsServiceResponse),
                  "/v1/logs": ("logs", logs_service_pb2.ExportLogsServiceRequest,
                               logs_service_pb2.ExportLogsServiceResponse)}

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                route = routes.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if route is None:
                    return self._reply(404, b"")
                if outer.behaviour.http_status is not None:
                    with outer._lock:
                        outer.received.attempts += 1
                    return self._reply(outer.behaviour.http_status, b"told to fail")
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                kind, req_cls, resp_cls = route
                outer._accept(kind, req_cls.FromString(body),
                              {k.lower(): v for k, v in self.headers.items()})
                self._reply(200, resp_cls().SerializeToString())

            def _reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                if outer.behaviour.retry_after and status != 200:
                    self.send_header("Retry-After", outer.behaviour.retry_after)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._http = http.server.ThreadingHTTPServer((self.host, port), Handler)
        if tls is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tls.ca))
            context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
            context.verify_mode = ssl.CERT_REQUIRED
            self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self.http_port

    def stop_http(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def stop(self) -> None:
        self.stop_grpc()
        self.stop_http()


def attributes(item) -> dict:
    """A span's or log record's attributes as {key: AnyValue in JSON form}."""
    return {kv.key: json_format.MessageToDict(kv.value) for kv in item.attributes}


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (to configure a client before its server starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _retry_info(code: grpc.StatusCode, delay_s: float) -> bytes:
    """A google.rpc.Status with a RetryInfo detail, as a gRPC server sends it in trailers."""
    from google.rpc import error_details_pb2, status_pb2

    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromNanoseconds(int(delay_s * 1e9))
    status = status_pb2.Status(code=code.value[0], message="told to fail")
    status.details.add().Pack(info)
    return status.SerializeToString()


def _Bound(cls):
    return cls()
