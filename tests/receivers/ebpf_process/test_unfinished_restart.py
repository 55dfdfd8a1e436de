"""A long-lived process reaches the backend once as unfinished and once finished, however
often the agent restarts in between (a DaemonSet rollout): the real agent, twice, on the real
kernel, against a real OTLP gRPC server."""

import subprocess
import time
import uuid

import pytest

from otel_linnix.config import build
from otel_linnix.exporters.otlpcommon.spans import UNFINISHED_ATTR
from otel_linnix.service import Service
from otel_linnix.testing import test_context
from otel_linnix.testing.otlp_server import OTLPServer, attributes

pytestmark = pytest.mark.bpf


def _agent(port: int) -> Service:
    pipeline = {"receivers": ["ebpf_process"], "exporters": ["otlp"]}
    raw = {"receivers": {"ebpf_process": {"unfinished_after": "1s", "sample_interval": "200ms"}},
           "exporters": {"otlp": {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
                                  "spool": {"enabled": False}, "batch": {"timeout": "50ms"}}},
           "service": {"pipelines": {"traces": pipeline}}}
    service = Service(build(raw), test_context())
    service.start()
    return service


def test_a_daemon_is_unfinished_once_across_a_restart_then_finished(tmp_path, monkeypatch):
    monkeypatch.setenv("OTEL_LINNIX_STATE_DIR", str(tmp_path))
    server = OTLPServer()
    port = server.start_grpc()
    marker = f"otel-linnix-daemon-{uuid.uuid4().hex[:8]}"
    daemon = subprocess.Popen(["sh", "-c", "sleep 300; :", marker])

    def ours():
        return [s for s in server.spans() if marker in str(attributes(s).get(
            "process.command_args", ""))]

    try:
        first = _agent(port)
        deadline = time.monotonic() + 20
        while not ours() and time.monotonic() < deadline:
            time.sleep(0.2)
        first.shutdown(5)  # reports every other running process; this one was already
        assert len(ours()) == 1, "reported by age, once"

        second = _agent(port)  # the same boot: it remembers what was reported
        time.sleep(3)  # three looks at processes older than 1 s
        daemon.kill()
        daemon.wait()
        deadline = time.monotonic() + 20
        while len(ours()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        second.shutdown(5)
    finally:
        daemon.kill()
        server.stop()
    spans = ours()
    assert len(spans) == 2, [attributes(s) for s in spans]
    unfinished, final = sorted(spans, key=lambda s: UNFINISHED_ATTR not in attributes(s))
    assert attributes(unfinished)[UNFINISHED_ATTR] == {"boolValue": True}
    assert UNFINISHED_ATTR not in attributes(final)
    assert final.span_id == unfinished.span_id and final.trace_id == unfinished.trace_id
