"""Metrics and logs arrive over gRPC and HTTP, through a real service replaying a recording."""

import pytest

from otel_linnix.records import Alert, AlertSubject
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.builders import sample
from otel_linnix.testing.telemetry_checks import wait


def recording_with_samples_and_alert():
    tree = ProcessTreeBuilder()
    pid = tree.spawn(exe="/srv/app", argv=("app", "--serve"))
    start = tree.procs[pid].start_ns
    records = []
    for i in range(3):
        tree.advance(10**9)
        records.append(sample(pid, start, tree.now_ns, cpu_ns=i * 10**8, rss=(i + 1) << 20))
    alert = Alert(id="a1", rule="memory_leak", severity="critical", state="firing",
                  subject=AlertSubject(pid=pid, start_ns=start, comm="app"),
                  message="RSS grows", first_seen_ns=tree.now_ns, last_seen_ns=tree.now_ns,
                  evidence={"slope": 1.5}, annotation={"summary": "a leak"})
    tree.advance(10**9)
    tree.exit(pid)
    lifecycle = tree.records()
    return lifecycle[:2] + records + [alert] + lifecycle[2:]


SAMPLE_METRICS = {"process.cpu.time", "process.memory.usage", "process.memory.virtual",
                  "process.unix.file_descriptor.count", "process.thread.count"}


@pytest.mark.parametrize("transport", ["otlp", "otlphttp"])
def test_metrics_and_logs_arrive(server, run_replay, tmp_path, transport):
    if transport == "otlp":
        server.start_grpc()
        cfg = {"endpoint": f"127.0.0.1:{server.grpc_port}", "tls": {"insecure": True}}
    else:
        server.start_http()
        cfg = {"endpoint": f"http://127.0.0.1:{server.http_port}"}
    cfg.update({"spool": {"directory": str(tmp_path / "spool")}, "export_unfinished": False,
                "logs": {"exec_events": True, "exit_events": True}})
    service = run_replay(recording_with_samples_and_alert(), {transport: cfg})
    assert server.wait_for_spans(1, 20)
    service.shutdown(5)
    assert SAMPLE_METRICS <= server.metric_names()
    assert "otel_linnix.exporter.sent_requests" in server.metric_names()  # agent health
    logs = server.log_records()
    bodies = [r.body.string_value for r in logs]
    assert "RSS grows" in bodies
    assert any(b.startswith("exec /srv/app") for b in bodies)
    assert any(b.startswith("exit ") for b in bodies)
    [alert_log] = [r for r in logs if r.body.string_value == "RSS grows"]
    [span] = server.spans()
    assert (alert_log.trace_id, alert_log.span_id) == (span.trace_id, span.span_id)
    assert alert_log.severity_text == "ERROR"
    assert [e.name for e in span.events] == ["exec", "alert"]


def test_file_exporter_writes_every_signal_as_otlp_json_lines(run_replay, tmp_path):
    import json

    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out = tmp_path / "otlp.jsonl"
    service = run_replay(recording_with_samples_and_alert(),
                         {"file": {"path": str(out), "export_unfinished": False}})
    service.shutdown(5)
    types = {"resourceSpans": ExportTraceServiceRequest,
             "resourceMetrics": ExportMetricsServiceRequest,
             "resourceLogs": ExportLogsServiceRequest}
    parsed = {name: [] for name in types}
    for line in out.read_text().splitlines():
        [key] = json.loads(line).keys()
        parsed[key].append(json_format.Parse(line, types[key]()))
    spans = [s for r in parsed["resourceSpans"] for rs in r.resource_spans
             for ss in rs.scope_spans for s in ss.spans]
    metrics = {m.name for r in parsed["resourceMetrics"] for rm in r.resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics}
    logs = [lr.body.string_value for r in parsed["resourceLogs"] for rl in r.resource_logs
            for sl in rl.scope_logs for lr in sl.log_records]
    assert [s.name for s in spans] == ["app"]
    assert SAMPLE_METRICS <= metrics
    assert logs == ["RSS grows"]


def test_the_agents_own_metrics_come_from_the_service_at_its_interval(server, run_replay,
                                                                     tmp_path):
    server.start_grpc()
    cfg = {"endpoint": f"127.0.0.1:{server.grpc_port}", "tls": {"insecure": True},
           "spool": {"directory": str(tmp_path / "spool")}, "export_unfinished": False,
           "telemetry_interval": "1s"}  # the old exporter setting: warned, ignored
    service = run_replay(recording_with_samples_and_alert(), {"otlp": cfg},
                         service_settings={"telemetry": {"metrics": {"interval": "0s"}}})
    assert any("exporters.otlp.telemetry_interval" in w and "service.telemetry.metrics"
               in w for w in service.config.warnings)
    assert server.wait_for_spans(1, 20)
    service.shutdown(5)
    names = server.metric_names()
    assert SAMPLE_METRICS <= names
    assert not {n for n in names if n.startswith("otel_linnix.")}, "interval 0: never"

    server.received.metrics.clear()
    service = run_replay(recording_with_samples_and_alert(), {"otlp": {**cfg, "spool": {
        "directory": str(tmp_path / "spool2")}}},
        service_settings={"telemetry": {"metrics": {"interval": "100ms"}}})
    assert server.wait_for_spans(2, 20)
    # periodic snapshots while running, before any shutdown
    assert wait(lambda: "otel_linnix.receiver.accepted_records" in server.metric_names(), 10)
    service.shutdown(5)
