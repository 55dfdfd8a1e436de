"""Transport settings: TLS with a private CA and a client certificate (mutual TLS), headers,
compression, over gRPC and HTTP."""

import pytest

from otel_linnix.component import Signal
from otel_linnix.testing import random_tree
from otel_linnix.testing.telemetry_checks import counted, wait

pytest.importorskip("cryptography")


@pytest.fixture
def certs(tmp_path):
    from otel_linnix.testing.tls import make_certs

    return make_certs(tmp_path / "certs")


def tls_cfg(certs, client_cert=True):
    tls = {"insecure": False, "ca_file": str(certs.ca)}
    if client_cert:
        tls.update(cert_file=str(certs.client_cert), key_file=str(certs.client_key))
    return tls


@pytest.mark.parametrize("transport", ["otlp", "otlphttp"])
def test_spans_arrive_over_mutual_tls(server, make_exporter, tmp_path, certs, transport):
    if transport == "otlp":
        endpoint = f"127.0.0.1:{server.start_grpc(tls=certs)}"
    else:
        endpoint = f"https://127.0.0.1:{server.start_http(tls=certs)}"
    exporter, _ = make_exporter(transport, {
        "endpoint": endpoint, "tls": tls_cfg(certs), "export_unfinished": False,
        "spool": {"directory": str(tmp_path / "spool")}})
    exporter.consume(Signal.TRACES, random_tree(20, seed=6))
    assert wait(lambda: len(server.spans()) == 20)


def test_without_a_client_certificate_the_server_refuses(server, make_exporter, tmp_path,
                                                         certs):
    port = server.start_grpc(tls=certs)
    exporter, ctx = make_exporter("otlp", {
        "endpoint": f"127.0.0.1:{port}", "tls": tls_cfg(certs, client_cert=False),
        "timeout": "1s", "export_unfinished": False,
        "spool": {"directory": str(tmp_path / "spool")}})
    exporter.consume(Signal.TRACES, random_tree(5, seed=6))
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.send_failures") >= 1)
    assert server.spans() == []


@pytest.mark.parametrize("transport", ["otlp", "otlphttp"])
@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_headers_and_compression_settings_reach_the_backend(server, make_exporter, tmp_path,
                                                           transport, compression):
    if transport == "otlp":
        endpoint, tls = f"127.0.0.1:{server.start_grpc()}", {"insecure": True}
    else:
        endpoint, tls = f"http://127.0.0.1:{server.start_http()}", {}
    exporter, _ = make_exporter(transport, {
        "endpoint": endpoint, "tls": tls, "compression": compression,
        "headers": {"Authorization": "Bearer t0ken", "X-Scope-OrgID": "team-a"},
        "export_unfinished": False, "spool": {"directory": str(tmp_path / "spool")}})
    exporter.consume(Signal.TRACES, random_tree(5, seed=3))
    assert wait(lambda: len(server.spans()) == 5)
    headers = server.received.headers[0]
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["x-scope-orgid"] == "team-a"
    if transport == "otlphttp":  # (gRPC keeps its grpc-encoding header from the servicer)
        assert headers.get("content-encoding") == ("gzip" if compression == "gzip" else None)


@pytest.mark.parametrize("endpoint, loopback", [
    ("127.0.0.1:4317", True), ("127.8.0.1:4317", True), ("localhost:4317", True),
    ("[::1]:4317", True), ("http://[::1]:4318", True), ("http://127.0.0.1:4318/v1/traces", True),
    ("collector:4317", False), ("10.0.0.1:4317", False), ("https://otel.example.com", False),
])
def test_auto_compression_is_none_only_for_a_loopback_endpoint(endpoint, loopback):
    from types import SimpleNamespace

    from otel_linnix.exporters.otlpcommon.config import DEFAULTS, finish

    config = finish(SimpleNamespace(id="otlp"), {**DEFAULTS, "endpoint": endpoint})
    assert DEFAULTS["compression"] == "auto"
    assert config["compression"] == ("none" if loopback else "gzip")
