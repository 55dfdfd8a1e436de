"""Transports: OTLP/gRPC, OTLP/HTTP (protobuf) and OTLP JSON lines to a file.

Each ``send`` (with an optional shorter timeout, used at shutdown) returns a Result saying whether the backend took it, and if not whether the OTLP
spec calls the failure retryable and how long the backend asked us to wait.
"""

from __future__ import annotations

import email.utils
import gzip
import time
from dataclasses import dataclass

import grpc

from otel_linnix.component import Signal

_GRPC_METHODS = {
    Signal.TRACES: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    Signal.METRICS: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    Signal.LOGS: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
_HTTP_PATHS = {Signal.TRACES: "/v1/traces", Signal.METRICS: "/v1/metrics",
               Signal.LOGS: "/v1/logs"}
# OTLP spec: retryable gRPC codes (RESOURCE_EXHAUSTED only with RetryInfo).
_RETRYABLE_GRPC = {grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
                   grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE,
                   grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS}
_RETRYABLE_HTTP = {429, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    retryable: bool = False
    retry_after: float | None = None
    error: str = ""


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def _retry_info_delay(err: grpc.RpcError) -> float | None:
    try:
        from google.rpc import error_details_pb2, status_pb2

        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                for detail in status.details:
                    if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                        info = error_details_pb2.RetryInfo()
                        detail.Unpack(info)
                        return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    except Exception:
        return None
    return None


class GrpcSender:
    def __init__(self, config: dict) -> None:
        endpoint = config["endpoint"]
        tls = config["tls"]
        options = [("grpc.max_send_message_length", 64 << 20)]
        if tls.get("insecure", False):
            self._channel = grpc.insecure_channel(endpoint, options=options)
        else:
            creds = grpc.ssl_channel_credentials(_read(tls.get("ca_file")),
                                                 _read(tls.get("key_file")),
                                                 _read(tls.get("cert_file")))
            self._channel = grpc.secure_channel(endpoint, creds, options=options)
        self._compression = grpc.Compression.Gzip if config["compression"] == "gzip" \
            else grpc.Compression.NoCompression
        self._metadata = tuple((k.lower(), v) for k, v in config["headers"].items())
        self._timeout = config["timeout_s"]
        self._calls = {s: self._channel.unary_unary(m, request_serializer=lambda b: b,
                                                    response_deserializer=lambda b: b)
                       for s, m in _GRPC_METHODS.items()}
        self.target = endpoint

    def send(self, signal: Signal, payload: bytes, timeout: float | None = None) -> Result:
        try:
            self._calls[signal](payload, timeout=timeout or self._timeout, metadata=self._metadata,
                                compression=self._compression)
            return Result(True)
        except grpc.RpcError as err:
            code = err.code()
            delay = _retry_info_delay(err)
            retryable = code in _RETRYABLE_GRPC or (
                code == grpc.StatusCode.RESOURCE_EXHAUSTED and delay is not None)
            return Result(False, retryable, delay, f"gRPC {code.name}: {err.details()}")

    def close(self) -> None:
        self._channel.close()


class HttpSender:
    def __init__(self, config: dict) -> None:
        import httpx

        self._timeout = config["timeout_s"]
        self._client = httpx.Client(timeout=self._timeout, verify=_ssl_context(config["tls"]))
        self._base = config["endpoint"].rstrip("/")
        self._gzip = config["compression"] == "gzip"
        self._headers = {**config["headers"], "Content-Type": "application/x-protobuf"}
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        self.target = self._base

    def send(self, signal: Signal, payload: bytes, timeout: float | None = None) -> Result:
        import httpx

        body = gzip.compress(payload, compresslevel=1) if self._gzip else payload
        try:
            resp = self._client.post(self._base + _HTTP_PATHS[signal], content=body,
                                     headers=self._headers, timeout=timeout or self._timeout)
        except httpx.HTTPError as exc:
            return Result(False, True, None, f"HTTP error: {type(exc).__name__}: {exc}")
        if 200 <= resp.status_code < 300:
            return Result(True)
        retryable = resp.status_code in _RETRYABLE_HTTP
        return Result(False, retryable, _retry_after(resp.headers.get("retry-after")),
                      f"HTTP {resp.status_code}: {resp.text[:200]}")

    def close(self) -> None:
        self._client.close()


def _ssl_context(tls: dict):
    """CA file (else the system store) and an optional client certificate, as one SSLContext
    (httpx ignores a ``cert=`` pair in recent versions, so mutual TLS needs the context)."""
    import ssl

    context = ssl.create_default_context(cafile=tls.get("ca_file") or None)
    if tls.get("cert_file"):
        context.load_cert_chain(tls["cert_file"], tls.get("key_file") or None)
    return context


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class FileSender:
    """OTLP JSON lines, one Export*ServiceRequest per line, like the Collector's file exporter."""

    def __init__(self, config: dict) -> None:
        self._path = config["path"]
        self._fh = open(self._path, "a", encoding="utf-8")
        self.target = self._path

    def send(self, signal: Signal, payload: bytes, timeout: float | None = None) -> Result:
        from google.protobuf import json_format

        from otel_linnix.exporters.otlpcommon.builder import REQUEST_TYPES

        message = REQUEST_TYPES[signal].FromString(payload)
        try:
            self._fh.write(json_format.MessageToJson(message, indent=None) + "\n")
            self._fh.flush()
        except OSError as exc:
            return Result(False, True, None, f"cannot write {self._path}: {exc}")
        return Result(True)

    def close(self) -> None:
        self._fh.close()
