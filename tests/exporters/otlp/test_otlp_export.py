"""OTLP export against a real gRPC / HTTP receiver: exact spans, links, outages, bad backends."""

import time

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from otel_linnix.component import Kind
from otel_linnix.records import ProcessExit
from otel_linnix.testing import random_tree
from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.telemetry_checks import counted, wait


def attrs(span):
    return {kv.key: json_format.MessageToDict(kv.value) for kv in span.attributes}


def check_tree(spans, records):
    exits = {r.pid: r for r in records if type(r) is ProcessExit}
    assert len(spans) == len(exits)
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == len(spans), "span ids must be unique"
    assert len({s.trace_id for s in spans}) == 1, "one process tree is one trace"
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 1
    for span in spans:
        a = attrs(span)
        rec = exits[int(a["process.pid"]["intValue"])]
        assert span.end_time_unix_nano - span.start_time_unix_nano == rec.exit_ns - rec.start_ns
        if span.parent_span_id:
            parent = by_id[span.parent_span_id]
            assert int(attrs(parent)["process.pid"]["intValue"]) == rec.ppid
        assert (span.status.code == Status.STATUS_CODE_ERROR) == rec.failed
        assert int(a["process.exit.code"]["intValue"]) == rec.exit_code
        assert a["process.executable.path"]["stringValue"] == rec.exe
        assert span.name == rec.exe.rsplit("/", 1)[-1]


def otlp_cfg(server, tmp_path, **extra):
    return {"endpoint": f"127.0.0.1:{server.grpc_port}", "tls": {"insecure": True},
            "spool": {"directory": str(tmp_path / "spool")},
            "retry": {"initial_interval": "100ms", "max_interval": "500ms"},
            "export_unfinished": False, **extra}


def test_500_processes_arrive_as_500_linked_spans_over_grpc(server, run_replay, tmp_path):
    server.start_grpc()
    records = tree(500)
    service = run_replay(records, {"otlp": otlp_cfg(server, tmp_path)})
    assert server.wait_for_spans(500, 30)
    service.shutdown(5)
    check_tree(server.spans(), records)
    assert "process.cpu.time" not in server.metric_names()  # no samples in this recording
    assert "otel_linnix.replay.records" in server.metric_names()  # agent health arrives


def test_500_processes_over_http(server, run_replay, tmp_path):
    server.start_http()
    records = tree(500, seed=2)
    cfg = {"endpoint": f"http://127.0.0.1:{server.http_port}",
           "spool": {"directory": str(tmp_path / "spool")}, "export_unfinished": False}
    service = run_replay(records, {"otlphttp": cfg})
    assert server.wait_for_spans(500, 30)
    service.shutdown(5)
    check_tree(server.spans(), records)


def test_outage_loses_nothing_and_duplicates_nothing(server, run_replay, tmp_path):
    records = tree(2000, seed=3)
    server.grpc_port = free_port()  # configured now, listening only after the outage
    service = run_replay(records, {"otlp": otlp_cfg(server, tmp_path)}, signals=("traces",))
    replay = service.components[(Kind.RECEIVER, "replay")]
    # the collector stays down until every record was handed on and the exporter has failed
    # and retried from the spool a few times (not for a fixed time)
    assert replay.done.wait(60)
    assert wait(lambda: counted(service.context, "otel_linnix.exporter.send_failures") >= 5
                and counted(service.context, "otel_linnix.exporter.spooled_requests") > 0, 60)
    server.start_grpc(server.grpc_port)
    assert server.wait_for_spans(2000, 60)
    service.shutdown(10)  # everything left is flushed: a duplicate would arrive by now
    spans = server.spans()
    assert len(spans) == 2000 and len({s.span_id for s in spans}) == 2000
    check_tree(spans, records)


def test_non_retryable_rejection_is_counted_and_the_agent_keeps_going(server, run_replay,
                                                                      tmp_path, caplog):
    server.start_grpc()
    server.behaviour.grpc_status = grpc.StatusCode.INVALID_ARGUMENT
    service = run_replay(tree(50), {"otlp": otlp_cfg(server, tmp_path)}, signals=("traces",))
    deadline = time.monotonic() + 10
    dropped = service.context.telemetry.get("otel_linnix.exporter.dropped")
    while time.monotonic() < deadline and not any(p.value for p in dropped.points()):
        time.sleep(0.05)
    assert any(dict(p.labels).get("reason") == "rejected" and p.value for p in dropped.points())
    assert "not retryable" in caplog.text and "INVALID_ARGUMENT" in caplog.text
    assert server.spans() == []  # the rejected data is dropped, not retried forever
    # keeps going: once the backend accepts again, new lifetimes are exported
    server.behaviour.grpc_status = None
    more = random_tree(30, seed=8, first_pid=70000)
    service.context.process_table.apply(more)  # as a receiver does before handing on
    service.components[(Kind.RECEIVER, "replay")].consumer.consume(more)
    assert server.wait_for_spans(30, 10), "the exporter stopped after a rejection"
    check_tree(server.spans(), more)


def test_http_500s_spool_then_deliver(server, run_replay, tmp_path):
    server.start_http()
    server.behaviour.http_status = 503
    server.behaviour.retry_after = "1"
    cfg = {"endpoint": f"http://127.0.0.1:{server.http_port}",
           "spool": {"directory": str(tmp_path / "spool")}, "export_unfinished": False}
    records = tree(100, seed=5)
    run_replay(records, {"otlphttp": cfg}, signals=("traces",))
    assert wait(lambda: server.received.attempts >= 2, 10)  # refused, then retried
    assert server.spans() == []
    server.behaviour.http_status = None
    assert server.wait_for_spans(100, 20)
    check_tree(server.spans(), records)


def test_file_exporter_writes_otlp_json_the_protobuf_parser_reads(run_replay, tmp_path):
    out = tmp_path / "out.jsonl"
    records = tree(30, seed=4)
    service = run_replay(records, {"file": {"path": str(out), "export_unfinished": False}},
                         signals=("traces",))
    assert service.components[(Kind.RECEIVER, "replay")].done.wait(10)
    service.shutdown(5)  # flushes what the exporter still holds
    spans = []
    for line in out.read_text().splitlines():
        request = json_format.Parse(line, ExportTraceServiceRequest())
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    check_tree(spans, records)


def tree(n, seed=1):
    return random_tree(n, seed=seed)
