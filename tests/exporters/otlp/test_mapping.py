"""The records → OTLP mapping on its own: ids, links, events, alerts, unfinished spans, resource."""

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from otel_linnix.component import Signal
from otel_linnix.exporters.otlpcommon.builder import RequestBuilder
from otel_linnix.exporters.otlpcommon.ids import span_id, trace_id
from otel_linnix.exporters.otlpcommon.spans import UNFINISHED_ATTR
from otel_linnix.receivers.running import running
from otel_linnix.records import Alert, AlertSubject, ProcessExit, process_key
from otel_linnix.testing import ProcessTreeBuilder, random_tree, test_context
from otel_linnix.testing.builders import fold_brief


def spans_of(request):
    request = ExportTraceServiceRequest.FromString(request.SerializeToString())
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def build(builder, records, signal=Signal.TRACES):
    """As the agent does: the receiver puts records into the table (which stamps exits with
    their tree root) before any exporter maps them."""
    builder.ctx.process_table.apply(records)
    return builder.build(signal, records)


def new_builder():
    return RequestBuilder(test_context())


def attrs(msg):
    return {kv.key: json_format.MessageToDict(kv.value) for kv in msg.attributes}


def alert_about(pid, start_ns, ts_ns, rule="fd_exhaustion"):
    return Alert(id=f"a-{pid}", rule=rule, severity="warning", state="firing",
                 subject=AlertSubject(pid=pid, start_ns=start_ns, comm="app"),
                 message="too many fds", first_seen_ns=ts_ns, last_seen_ns=ts_ns,
                 evidence={"fds": 900})


def test_ids_are_deterministic_across_builders_and_differ_per_boot():
    records = random_tree(40, seed=11)
    first = spans_of(build(new_builder(), records))
    again = spans_of(build(new_builder(), records))
    assert [(s.trace_id, s.span_id, s.parent_span_id) for s in first] == \
           [(s.trace_id, s.span_id, s.parent_span_id) for s in again]
    key = (1000, 5)
    assert span_id("boot-a", key) != span_id("boot-b", key)
    assert trace_id("boot-a", key) != trace_id("boot-b", key)
    assert len(span_id("x", key)) == 8 and len(trace_id("x", key)) == 16


def test_exit_only_lifetime_is_one_span_linked_to_an_already_exported_parent():
    tree = ProcessTreeBuilder()
    parent = tree.spawn(exe="/bin/sh")
    child = tree.spawn(parent=parent, exe="/bin/sleep")
    tree.advance(1000)
    child_exit = tree.exit(child)
    tree.advance(1000)
    tree.exit(parent)
    records = tree.records()
    builder = new_builder()
    # the parent's whole lifetime first (its span exported); the child only as an exit, later
    parent_records = [r for r in records if r.pid == parent]
    [parent_span] = spans_of(build(builder, parent_records))
    [child_span] = spans_of(build(builder, [child_exit]))
    assert child_span.parent_span_id == parent_span.span_id
    assert child_span.trace_id == parent_span.trace_id, "a late child stays in its tree's trace"
    assert child_span.end_time_unix_nano - child_span.start_time_unix_nano == 1000


def test_exec_event_span_name_error_status_and_attributes():
    tree = ProcessTreeBuilder()
    pid = tree.spawn(exe="/bin/bash", argv=("bash", "-c", "x"))
    tree.advance(500)
    tree.exec(pid, "/usr/bin/python3", ("python3", "job.py"))
    tree.advance(500)
    tree.exit(pid, signal=9)
    again = tree.spawn(exe="/bin/sh")  # the same executable later: its event is its own
    tree.advance(700)
    tree.exec(again, "/usr/bin/python3", ("python3", "other.py"))
    tree.exit(again)
    span, other = spans_of(build(new_builder(), tree.records()))
    assert span.name == "python3"
    assert [e.name for e in span.events] == ["exec", "exec"]
    exes = [e.attributes[0].value.string_value for e in (*span.events, *other.events)]
    assert exes == ["/bin/bash", "/usr/bin/python3", "/bin/sh", "/usr/bin/python3"]
    times = [e.time_unix_nano for e in (*span.events, *other.events)]
    assert times[1] - times[0] == 500 and times[3] - times[1] == 500 + 700
    assert span.status.code == span.status.STATUS_CODE_ERROR
    assert "signal 9" in span.status.message
    a = attrs(span)
    assert a["process.command_args"]["arrayValue"]["values"][1] == {"stringValue": "job.py"}
    assert a["process.exit.code"] == {"intValue": str(128 + 9)}
    assert a["process.pid"] == {"intValue": str(pid)}


def test_alert_becomes_event_on_a_live_span_and_only_a_log_after_export():
    tree = ProcessTreeBuilder()
    live = tree.spawn(exe="/srv/app")
    done = tree.spawn(exe="/srv/old")
    tree.advance(100)
    done_exit = tree.exit(done)
    tree.advance(100)
    builder = new_builder()
    build(builder, tree.records())  # `done` is exported now
    late = alert_about(done, done_exit.start_ns, tree.now_ns)
    early = alert_about(live, tree.procs[live].start_ns, tree.now_ns)
    build(builder, [late, early])
    tree.advance(100)
    live_exit = tree.exit(live)
    [span] = spans_of(build(builder, [live_exit]))
    assert [e.name for e in span.events] == ["exec", "alert"]
    assert builder.spans.skipped_alert_events == 1
    logs = builder.build(Signal.LOGS, [late])
    [record] = [r for rl in logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    host = test_context().host
    assert record.span_id == span_id(host.boot_id, process_key(done, done_exit.start_ns))
    assert len(record.trace_id) == 16, "a late alert still links to the exported span"
    assert attrs(record)["otel_linnix.alert.rule"] == {"stringValue": "fd_exhaustion"}


def test_a_running_report_is_an_unfinished_span_with_the_ids_of_the_final_one():
    ctx = test_context()
    tree = ProcessTreeBuilder()
    pid = tree.spawn(exe="/usr/sbin/daemon")
    ctx.process_table.apply(tree.records())
    builder = RequestBuilder(ctx)
    builder.build(Signal.TRACES, tree.records())
    now = tree.procs[pid].start_ns + 10**9
    report = running(ctx.process_table.get(pid), now)
    [aged] = spans_of(builder.build(Signal.TRACES, [report]))
    assert attrs(aged)[UNFINISHED_ATTR] == {"boolValue": True}
    assert aged.status.code == aged.status.STATUS_CODE_UNSET
    assert aged.end_time_unix_nano - aged.start_time_unix_nano == 10**9  # ends at the report
    tree.advance(2 * 10**9)
    final_exit = tree.exit(pid)
    ctx.process_table.apply([final_exit])
    [final] = spans_of(builder.build(Signal.TRACES, [final_exit]))
    assert (final.trace_id, final.span_id) == (aged.trace_id, aged.span_id)
    assert UNFINISHED_ATTR not in attrs(final)
    assert builder.build(Signal.METRICS, [report]) is None  # a traces matter only
    off = RequestBuilder(ctx, unfinished=False)  # export_unfinished: false
    assert off.build(Signal.TRACES, [report]) is None


def test_resource_names_host_and_agent():
    request = ExportTraceServiceRequest.FromString(
        build(new_builder(), random_tree(3)).SerializeToString())
    res = attrs(request.resource_spans[0].resource)
    assert res["service.name"] == {"stringValue": "otel-linnix"}
    assert res["host.name"] == {"stringValue": "test-host"}
    assert res["host.id"] == {"stringValue": "0" * 32}
    for key in ("os.type", "service.instance.id", "service.version"):
        assert key in res


def test_exit_records_are_one_span_each():
    records = random_tree(100, seed=3)
    spans = spans_of(build(new_builder(), records))
    assert len(spans) == sum(1 for r in records if type(r) is ProcessExit)


def test_span_id_fast_path_equals_the_scheme():
    from otel_linnix.exporters.otlpcommon.ids import span_id_hasher

    for key in [(1, 0), (4_194_304, 10**12), (77, 5)]:
        hasher = span_id_hasher("boot-x").copy()
        hasher.update(b"%d|%d" % key)
        assert hasher.digest() == span_id("boot-x", key)


def test_an_oom_killed_lifetime_says_so_with_its_memory_at_death():
    from otel_linnix.records import OomKill

    tree = ProcessTreeBuilder()
    victim = tree.spawn(exe="/usr/bin/python3")
    start = tree.procs[victim].start_ns
    tree.advance(10**9)
    kill = OomKill(victim, start, tree.now_ns, "python3", 0, -100, 90 << 20, 60 << 20,
                   4 << 20, 0, 1 << 20, "/jobs/batch", 64 << 20)
    death = tree.exit(victim, signal=9)
    death.oom_killed = True
    builder = new_builder()
    span, = spans_of(build(builder, [*tree.records()[:-1], kill, death]))
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert span.status.message == "killed by the OOM killer"
    a = attrs(span)
    assert a["otel_linnix.process.oom_killed"] == {"boolValue": True}
    assert a["otel_linnix.process.signal"] == {"intValue": "9"}
    assert a["process.exit.code"] == {"intValue": "137"}
    assert a["otel_linnix.oom.rss_bytes"] == {"intValue": str(64 << 20)}
    assert a["otel_linnix.oom.oom_score_adj"] == {"intValue": "-100"}
    assert a["otel_linnix.oom.memcg"] == {"stringValue": "/jobs/batch"}
    assert a["otel_linnix.oom.memory_limit_bytes"] == {"intValue": str(64 << 20)}
    # a plain SIGKILL is not an OOM kill
    other = ProcessTreeBuilder(first_pid=5000)
    pid = other.spawn(exe="/bin/sleep")
    other.exit(pid, signal=9)
    plain, = spans_of(build(new_builder(), other.records()))
    assert plain.status.message == "killed by signal 9"
    assert "otel_linnix.process.oom_killed" not in attrs(plain)


POD_UID = "1b2c3d4e-0000-4000-8000-00000000abcd"
POD_CONTAINER = "a" * 64
DOCKER_CONTAINER = "b" * 64
POD_CGROUP = f"/kubepods/burstable/pod{POD_UID}/{POD_CONTAINER}"
DOCKER_CGROUP = f"/system.slice/docker-{DOCKER_CONTAINER}.scope"


def _workload(resource) -> tuple[str, str]:
    found = attrs(resource)
    return (found.get("container.id", {}).get("stringValue", ""),
            found.get("k8s.pod.uid", {}).get("stringValue", ""))


def test_each_container_and_pod_is_its_own_resource_and_the_agents_pod_is_only_its_own(
        monkeypatch):
    from otel_linnix.records import AgentTelemetry
    from otel_linnix.telemetry import Telemetry
    from otel_linnix.testing.builders import sample

    for var, value in (("K8S_POD_NAME", "otel-linnix-x7"), ("K8S_NAMESPACE_NAME", "monitoring"),
                       ("K8S_NODE_NAME", "node-1")):
        monkeypatch.setenv(var, value)
    ctx = test_context()
    tree = ProcessTreeBuilder()
    in_pod = tree.spawn(exe="/app/server", cgroup_path=POD_CGROUP)
    in_docker = tree.spawn(exe="/usr/bin/redis", cgroup_path=DOCKER_CGROUP)
    on_host = tree.spawn(exe="/usr/sbin/cron", cgroup_path="/system.slice/cron.service")
    ctx.process_table.apply(tree.records())
    tree.advance(10**9)
    for pid in (in_pod, in_docker, on_host):
        tree.exit(pid)
    builder = RequestBuilder(ctx)
    traces = ExportTraceServiceRequest.FromString(
        builder.build(Signal.TRACES, tree.records()).SerializeToString())
    by_workload = {_workload(rs.resource): rs for rs in traces.resource_spans}
    assert set(by_workload) == {(POD_CONTAINER, POD_UID), (DOCKER_CONTAINER, ""), ("", "")}
    pid_of = {w: [int(attrs(s)["process.pid"]["intValue"]) for ss in rs.scope_spans
                  for s in ss.spans] for w, rs in by_workload.items()}
    assert pid_of == {(POD_CONTAINER, POD_UID): [in_pod], (DOCKER_CONTAINER, ""): [in_docker],
                      ("", ""): [on_host]}
    for rs in traces.resource_spans:
        resource = attrs(rs.resource)
        assert "k8s.pod.name" not in resource and "k8s.namespace.name" not in resource
        assert resource["k8s.node.name"] == {"stringValue": "node-1"}  # every process's node

    # metrics: a pod's samples under the pod, the agent's own metrics under the agent's pod
    live = ProcessTreeBuilder(first_pid=7000)
    pid = live.spawn(exe="/app/worker", cgroup_path=POD_CGROUP)
    ctx.process_table.apply(live.records())
    point = sample(pid, live.procs[pid].start_ns, live.now_ns, rss=1 << 20)
    ctx.process_table.apply([point])  # the table stamps the sample's cgroup
    own = Telemetry()
    own.counter("otel_linnix.process.forks", "forks").add(3)
    metrics = ExportMetricsServiceRequest.FromString(builder.build(
        Signal.METRICS, [point, AgentTelemetry(1, 0, tuple(own.snapshot()))]).SerializeToString())
    [pod_rm, agent_rm] = metrics.resource_metrics
    assert _workload(pod_rm.resource) == (POD_CONTAINER, POD_UID)
    assert "otel_linnix.process.forks" not in {m.name for m in pod_rm.scope_metrics[0].metrics}
    agent = attrs(agent_rm.resource)
    assert agent["k8s.pod.name"] == {"stringValue": "otel-linnix-x7"}
    assert agent["k8s.namespace.name"] == {"stringValue": "monitoring"}
    assert {m.name for m in agent_rm.scope_metrics[0].metrics} == {"otel_linnix.process.forks"}

    # logs: an alert under its subject's pod
    alert = alert_about(pid, live.procs[pid].start_ns, live.now_ns)
    alert.subject.container_id, alert.subject.pod_uid = POD_CONTAINER, POD_UID
    [rl] = builder.build(Signal.LOGS, [alert]).resource_logs
    assert _workload(rl.resource) == (POD_CONTAINER, POD_UID)


def test_only_batches_with_something_of_the_signal_are_taken():
    from otel_linnix.testing.builders import sample

    builder = new_builder()
    tree = ProcessTreeBuilder()
    pid = tree.spawn(exe="/bin/sh")
    starts = tree.records()
    exit_ = tree.exit(pid)
    samples = [sample(pid, exit_.start_ns, tree.now_ns)]
    alert = alert_about(pid, exit_.start_ns, tree.now_ns)
    assert not builder.maps_any(Signal.TRACES, samples)  # the sampler's batch: metrics only
    assert builder.maps_any(Signal.METRICS, samples)
    assert not builder.maps_any(Signal.METRICS, [*starts, exit_])  # a storm's: no metrics
    assert builder.maps_any(Signal.TRACES, [*starts, exit_])
    assert not builder.maps_any(Signal.LOGS, [*starts, exit_])  # exec / exit logs are off
    assert builder.maps_any(Signal.LOGS, [*samples, alert])
    assert builder.maps_any(Signal.LOGS, [exit_]) is False
    assert RequestBuilder(builder.ctx, exit_logs=True).maps_any(Signal.LOGS, [exit_])


def test_consecutive_siblings_share_only_what_they_have_in_common():
    """A run of exits of one parent's children reuses what they share (parent span, trace,
    command, ending): each span must still get its own pid, ids, times and exit status, and a
    lifetime the table knows no tree of must be a trace of its own."""
    tree = ProcessTreeBuilder()
    make = tree.spawn(1, comm="make", exe="/usr/bin/make", argv=("make", "-j2"))
    kids = [tree.spawn(make, comm="cc") for _ in range(4)]
    for i, kid in enumerate(kids):
        tree.advance(10**6)
        tree.exit(kid, code=2 if i == 2 else 0)
    builder = new_builder()
    spans = spans_of(build(builder, tree.records()))
    assert [attrs(s)["process.pid"]["intValue"] for s in spans] == [str(k) for k in kids]
    assert len({s.span_id for s in spans}) == 4
    assert {s.parent_span_id for s in spans} == {span_id(builder.ctx.host.boot_id,
                                                         (make, tree.procs[make].start_ns // 10**7))}
    assert len({s.trace_id for s in spans}) == 1
    assert len({s.end_time_unix_nano for s in spans}) == 4
    assert [s.status.code for s in spans] == [0, 0, Status.STATUS_CODE_ERROR, 0]
    assert [attrs(s)["process.exit.code"]["intValue"] for s in spans] == ["0", "0", "2", "0"]
    # exits the table never saw a tree for (no tree root stamped): one trace each
    rootless = [ProcessExit(pid, 77, 10**9 + pid, 10**8, 2 * 10**9, 0, 0, "job")
                for pid in (901, 902)]
    spans = spans_of(builder.build(Signal.TRACES, rootless))
    assert len({s.trace_id for s in spans}) == 2 and len({s.parent_span_id for s in spans}) == 1


def test_queued_span_batches_become_requests_of_at_most_max_spans_each():
    """Spans are built as records are handed on, and queued: the worker merges what it took
    by workload and cuts it into requests no larger than batch.max_size, losing none."""
    builder = new_builder()
    batches, pids = [], []
    for n, cgroup in enumerate((POD_CGROUP, DOCKER_CGROUP, POD_CGROUP)):
        tree = ProcessTreeBuilder(first_pid=1000 + 1000 * n)
        for _ in range(7):
            pid = tree.spawn(1, comm="job", cgroup_path=cgroup)
            tree.exit(pid)
            pids.append(pid)
        records = tree.records()
        builder.ctx.process_table.apply(records)
        batches.append(builder.map_spans(records))
    assert [len(b) for b in batches] == [14, 14, 14]  # what the queue counts: records
    requests = [ExportTraceServiceRequest.FromString(r.SerializeToString())
                for r in builder.trace_requests(batches, max_spans=5)]
    sizes = [sum(len(ss.spans) for rs in r.resource_spans for ss in rs.scope_spans)
             for r in requests]
    assert sizes == [5, 5, 5, 5, 1] and [r.span_count for r in
                                         builder.trace_requests(batches[:1], 5)] == [5, 2]
    got = sorted(int(attrs(s)["process.pid"]["intValue"]) for r in requests
                 for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans)
    assert got == sorted(pids)
    for r in requests:  # one ResourceSpans per workload in each request
        pods = [a.value.string_value for rs in r.resource_spans for a in rs.resource.attributes
                if a.key == "k8s.pod.uid"]
        assert len(pods) == len(set(pods))


def test_a_lifetime_folded_with_its_execs_maps_as_its_records_would():
    """An exit standing for its fork and execs (as the receiver's decoder folds a build step)
    gives the same span, exec events included, and the same exec and exit logs."""
    tree = ProcessTreeBuilder()
    make = tree.spawn(comm="make", exe="/usr/bin/make", argv=("make", "-j2"), cgroup_path="/ci")
    for i in range(3):
        tree.advance(1000)
        step = tree.spawn(make, comm="make")
        tree.advance(200)
        tree.exec(step, "/bin/sh", ("sh", "-c", f"cc -c unit{i}.c"))
        tree.advance(300)
        if i:  # the shell execs the compiler itself: two execs in one lifetime
            tree.exec(step, "/usr/bin/cc", ("cc", "-c", f"unit{i}.c"))
        tree.advance(5000)
        tree.exit(step, code=i == 2)
    head, plain = tree.records()[:2], tree.records()[2:]  # make stays live: no span of it
    folded = fold_brief(plain)
    assert [len(r.execs_folded) for r in folded] == [1, 2, 2]
    out = {}
    for name, records in (("plain", plain), ("folded", folded)):
        ctx = test_context()
        builder = RequestBuilder(ctx, exec_logs=True, exit_logs=True)
        ctx.process_table.apply(head)
        ctx.process_table.apply(records)
        out[name] = (builder.build(Signal.TRACES, records).SerializeToString(),
                     builder.build(Signal.LOGS, records).SerializeToString())
    assert out["folded"] == out["plain"]
    spans = spans_of(ExportTraceServiceRequest.FromString(out["plain"][0]))
    assert [[e.name for e in s.events] for s in spans] == [["exec"], ["exec"] * 2, ["exec"] * 2]
