"""SIGKILL during an outage: what reached the spool is delivered after restart, exactly once."""

import os
import signal
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_linnix import recording
from otel_linnix.testing import random_tree, test_context
from otel_linnix.testing.cli import start_cli
from otel_linnix.testing.otlp_server import OTLPServer, free_port

PIPELINE = """
receivers:
  replay:
    path: {path}
exporters:
  otlp:
    endpoint: 127.0.0.1:{port}
    tls: {{insecure: true}}
    spool: {{directory: {spool}}}
    retry: {{initial_interval: 100ms, max_interval: 500ms}}
    export_unfinished: false
service:
  pipelines:
    traces: {{receivers: [replay], exporters: [otlp]}}
"""


def spooled_spans(spool) -> int:
    total = 0
    for path in spool.glob("*-traces.pb"):
        req = ExportTraceServiceRequest.FromString(path.read_bytes())
        total += sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    return total


def write(tmp_path, name, records, port, spool):
    rec = tmp_path / f"{name}.jsonl"
    with open(rec, "w") as fh:
        recording.Writer(fh, test_context().host).write(records)
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(PIPELINE.format(path=rec, port=port, spool=spool))
    return cfg


def test_sigkill_mid_outage_then_restart_delivers_all_2000_once(tmp_path):
    port, spool = free_port(), tmp_path / "spool"
    first = write(tmp_path, "first", random_tree(2000, seed=9), port, spool)
    agent = start_cli("run", "--config", str(first))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and spooled_spans(spool) < 2000:
            time.sleep(0.2)
        assert spooled_spans(spool) == 2000, "not everything reached the spool"
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    finally:
        agent.kill()
    server = OTLPServer()
    server.start_grpc(port)
    second = write(tmp_path, "second", [], port, spool)  # a restart sees no new processes
    agent = start_cli("run", "--config", str(second))
    try:
        assert server.wait_for_spans(2000, 60)
        time.sleep(1)
        spans = server.spans()
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
        server.stop()
    assert len(spans) == 2000 and len({s.span_id for s in spans}) == 2000
    assert not list(spool.glob("*.pb")), "delivered requests must leave the spool"
    assert os.path.isdir(spool)
