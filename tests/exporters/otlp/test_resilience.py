"""Bad backends, through the exporter made by its factory: hanging, rejecting, RetryInfo,
a full queue, a full spool, no spool. The agent keeps running, memory stays bounded, failures
are counted and the log says why."""

import time

import grpc
import pytest

from otel_linnix.component import Signal
from otel_linnix.testing import random_tree
from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.telemetry_checks import counted, wait


def grpc_cfg(port, tmp_path, **extra):
    return {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
            "spool": {"directory": str(tmp_path / "spool")},
            "retry": {"initial_interval": "100ms", "max_interval": "300ms"},
            "batch": {"timeout": "50ms"}, "export_unfinished": False, **extra}


def test_hanging_collector_times_out_spools_and_delivers_later(server, make_exporter, tmp_path,
                                                              caplog):
    server.start_grpc()
    server.behaviour.hang_s = 1.5
    exporter, ctx = make_exporter("otlp", grpc_cfg(server.grpc_port, tmp_path, timeout="300ms"))
    records = random_tree(200, seed=21)
    exporter.consume(Signal.TRACES, records)
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.send_failures") >= 1)
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.spooled_requests") >= 1)
    assert "DEADLINE_EXCEEDED" in caplog.text
    server.behaviour.hang_s = 0
    assert wait(lambda: len({s.span_id for s in server.spans()}) == 200, 30)
    assert exporter.force_flush(5)


def test_resource_exhausted_is_retried_only_with_retry_info(server, make_exporter, tmp_path,
                                                            caplog):
    server.start_grpc()
    server.behaviour.grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED
    exporter, ctx = make_exporter("otlp", grpc_cfg(server.grpc_port, tmp_path))
    exporter.consume(Signal.TRACES, random_tree(20, seed=1))
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.dropped", reason="rejected") == 1)
    assert "not retryable" in caplog.text and "RESOURCE_EXHAUSTED" in caplog.text
    server.behaviour.retry_info_s = 0.5  # now the server says when to come back: retryable
    exporter.consume(Signal.TRACES, random_tree(20, seed=2, first_pid=5000))
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.spooled_requests") >= 1)
    server.behaviour.grpc_status = None
    assert wait(lambda: len(server.spans()) == 20)
    assert counted(ctx, "otel_linnix.exporter.dropped", reason="rejected") == 1


def test_full_queue_drops_and_counts_instead_of_growing(server, make_exporter, tmp_path):
    server.start_grpc()
    server.behaviour.hang_s = 2.0  # the worker is stuck in a send: only the queue can take
    exporter, ctx = make_exporter("otlp", grpc_cfg(server.grpc_port, tmp_path, timeout="5s",
                                                   sending_queue={"queue_size": 300}))
    exporter.consume(Signal.TRACES, random_tree(50, seed=1))
    assert wait(lambda: server.received.attempts >= 1)
    batch = random_tree(100, seed=4, first_pid=9000)  # 200 records each
    for _ in range(10):
        exporter.consume(Signal.TRACES, batch)
    assert counted(ctx, "otel_linnix.exporter.dropped", reason="queue_full") >= 8 * len(batch)
    gauge = ctx.telemetry.get("otel_linnix.exporter.queue_size.otlp")
    assert max(p.value for p in gauge.points()) <= 300


def test_spool_byte_cap_refuses_new_requests_and_keeps_old_ones(make_exporter, tmp_path):
    port = free_port()  # nobody listens: the collector is down
    exporter, ctx = make_exporter("otlp", grpc_cfg(port, tmp_path, spool={
        "directory": str(tmp_path / "spool"), "max_size": "20KiB"}))
    for seed in range(40):
        exporter.consume(Signal.TRACES, random_tree(30, seed=seed, first_pid=1000 + 100 * seed))
        time.sleep(0.08)  # longer than batch.timeout: one request (~15 KiB) per tree
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.dropped", reason="spool_full") >= 1)
    files = list((tmp_path / "spool").glob("*.pb"))
    assert files and sum(f.stat().st_size for f in files) <= 20 * 1024


def test_without_spool_a_request_is_given_up_after_max_elapsed_time(make_exporter, tmp_path,
                                                                    caplog):
    port = free_port()
    exporter, ctx = make_exporter("otlp", grpc_cfg(port, tmp_path, spool={"enabled": False},
                                                   retry={"initial_interval": "100ms",
                                                          "max_interval": "200ms",
                                                          "max_elapsed_time": "700ms"}))
    exporter.consume(Signal.TRACES, random_tree(10))
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.dropped",
                                reason="retry_exhausted") == 1)
    assert counted(ctx, "otel_linnix.exporter.send_failures") >= 2, "it did retry first"
    assert "gave up a traces request" in caplog.text


def test_spans_sent_from_the_spool_are_counted_once_delivered(server, make_exporter, tmp_path):
    port = free_port()
    exporter, ctx = make_exporter("otlp", grpc_cfg(port, tmp_path))
    exporter.consume(Signal.TRACES, random_tree(60, seed=8))
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.spooled_requests") >= 1)
    assert counted(ctx, "otel_linnix.exporter.sent_spans") == 0
    server.start_grpc(port)
    assert wait(lambda: len(server.spans()) == 60)
    assert wait(lambda: counted(ctx, "otel_linnix.exporter.sent_spans") == 60)
    assert not list((tmp_path / "spool").glob("*.pb"))


def test_http_500_is_not_retried_counted_logged_and_the_exporter_recovers(server, make_exporter,
                                                                          tmp_path, caplog):
    server.start_http()
    server.behaviour.http_status = 500
    exporter, ctx = make_exporter("otlphttp", {
        "endpoint": f"http://127.0.0.1:{server.http_port}", "export_unfinished": False,
        "batch": {"timeout": "50ms"}, "spool": {"directory": str(tmp_path / "spool")}})
    for seed in range(5):
        exporter.consume(Signal.TRACES, random_tree(10, seed=seed, first_pid=1000 + 100 * seed))
        assert wait(lambda seed=seed: server.received.attempts > seed)
    assert counted(ctx, "otel_linnix.exporter.dropped", reason="rejected") == 5
    assert not list((tmp_path / "spool").glob("*.pb")), "a 500 is not retryable: not spooled"
    assert "HTTP 500" in caplog.text and "not retryable" in caplog.text
    server.behaviour.http_status = None
    exporter.consume(Signal.TRACES, random_tree(10, seed=9, first_pid=9000))
    assert wait(lambda: len(server.spans()) == 10)


@pytest.mark.parametrize("when", ["queued", "in_flight"])
def test_shutdown_against_a_hanging_backend_keeps_its_budget_and_spools(server, make_exporter,
                                                                         tmp_path, when):
    """Whether the last records still wait in the queue or are being sent to a backend that
    hangs, shutdown keeps its budget and they wait in the spool (at least once, not lost)."""
    from otel_linnix.receivers.running import running
    from otel_linnix.testing import ProcessTreeBuilder, test_context

    server.start_grpc()
    ctx = test_context()
    tree = ProcessTreeBuilder()
    for _ in range(3):
        tree.spawn(exe="/usr/sbin/daemon")  # still running at shutdown
    ctx.process_table.apply(tree.records())
    batch = {"batch": {"timeout": "30s" if when == "queued" else "10ms"}}
    exporter, _ = make_exporter("otlp", {**grpc_cfg(server.grpc_port, tmp_path, timeout="10s"),
                                         "export_unfinished": True, **batch}, ctx)
    server.behaviour.hang_s = 5.0
    # the receiver's report at shutdown of what is still running
    exporter.consume(Signal.TRACES, [running(p, tree.now_ns) for p in ctx.process_table.snapshot()])
    if when == "in_flight":
        assert wait(lambda: server.received.attempts == 1)
    else:
        assert server.received.attempts == 0
    started = time.monotonic()
    exporter.shutdown(1.0)
    assert time.monotonic() - started < 4.0, "a 10 s send timeout must not hold shutdown"
    [spooled] = list((tmp_path / "spool").glob("*-traces.pb"))
    assert spooled.name.split("-")[1] == "3", "the 3 unfinished spans wait in the spool"
    assert counted(ctx, "otel_linnix.exporter.dropped") == 0
