"""Long-lived processes reach the backend before they exit, each once as unfinished: the
replay receiver reports them (past ``unfinished_after`` on the recording's clock, or at
shutdown) and the exporter makes the spans, through a real service and OTLP gRPC server."""

from collections import Counter

from otel_linnix.exporters.otlpcommon.spans import UNFINISHED_ATTR
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.otlp_server import attributes

NS = 10**9


def test_a_daemon_is_reported_once_by_age_and_the_rest_once_at_shutdown(server, run_replay,
                                                                        tmp_path):
    server.start_grpc()
    tree = ProcessTreeBuilder()
    daemon = tree.spawn(exe="/usr/sbin/daemon")
    for _ in range(100):  # 100 s of short jobs, on the recording's clock
        tree.advance(NS)
        tree.exit(tree.spawn(exe="/bin/true"))
    late = tree.spawn(exe="/usr/bin/late")  # 0 s old at the end: only shutdown reports it
    tree.advance(NS)
    tree.exit(tree.spawn(exe="/bin/true"))
    cfg = {"endpoint": f"127.0.0.1:{server.grpc_port}", "tls": {"insecure": True},
           "spool": {"directory": str(tmp_path / "spool")}}
    service = run_replay(tree.records(), {"otlp": cfg}, signals=("traces",),
                         replay={"unfinished_after": "60s"})
    assert server.wait_for_spans(101, 20)
    [aged] = server.spans_of(daemon)  # before shutdown: reported when it passed 60 s
    assert attributes(aged)[UNFINISHED_ATTR] == {"boolValue": True}
    # ended at the report: past 60 s, within the recording (a fast replay checks per batch)
    assert 60 * NS <= aged.end_time_unix_nano - aged.start_time_unix_nano <= 101 * NS
    service.shutdown(5)

    spans = server.spans()
    unfinished = [s for s in spans if attributes(s).get(UNFINISHED_ATTR)]
    pids = sorted(int(attributes(s)["process.pid"]["intValue"]) for s in unfinished)
    assert pids == sorted([daemon, late]), "each long-lived lifetime once, none twice"
    assert max(Counter(s.span_id for s in spans).values()) == 1
    assert len(spans) == 101 + 2  # every finished job, and the two still running


def test_reports_off_leave_running_processes_to_their_exit(server, run_replay, tmp_path):
    server.start_grpc()
    tree = ProcessTreeBuilder()
    tree.spawn(exe="/usr/sbin/daemon")
    tree.advance(120 * NS)
    tree.exit(tree.spawn(exe="/bin/true"))
    cfg = {"endpoint": f"127.0.0.1:{server.grpc_port}", "tls": {"insecure": True},
           "spool": {"directory": str(tmp_path / "spool")}}
    service = run_replay(tree.records(), {"otlp": cfg}, signals=("traces",),
                         replay={"unfinished_after": "0s", "unfinished_at_shutdown": False})
    assert server.wait_for_spans(1, 20)
    service.shutdown(5)
    assert [attributes(s)["process.executable.path"] for s in server.spans()] == [
        {"stringValue": "/bin/true"}]
