"""The hand-written sample metrics against opentelemetry-proto: the request the exporter sends
parses back to the very message the protobuf library builds from the same samples."""

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_CUMULATIVE,
    Gauge,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

from otel_linnix import __version__
from otel_linnix.component import Signal
from otel_linnix.exporters.otlpcommon.builder import RequestBuilder
from otel_linnix.exporters.otlpcommon.metrics import telemetry_metrics
from otel_linnix.exporters.otlpcommon.resource import Resources, build_resource, kv
from otel_linnix.records import AgentTelemetry, ProcessSample
from otel_linnix.telemetry import Telemetry
from otel_linnix.testing import test_context

POD_CGROUP = "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000abcd/" + "a" * 64


def library_metrics(samples, host) -> list[Metric]:
    """The process.* metrics of ``samples`` built message by message with the library."""
    def point(value, ts, start, attrs):
        p = NumberDataPoint(time_unix_nano=ts, start_time_unix_nano=start,
                            attributes=[kv(k, v) for k, v in attrs.items()])
        if isinstance(value, int):
            p.as_int = value
        else:
            p.as_double = value
        return p

    cpu, mem, virt, fds, threads = [], [], [], [], []
    for s in samples:
        ts, start = host.wall_ns(s.ts_ns), host.wall_ns(s.start_ns)
        ident = {"process.pid": s.pid, "process.executable.name": s.comm}
        cpu.append(point(s.cpu_user_ns / 1e9, ts, start, {**ident, "cpu.mode": "user"}))
        cpu.append(point(s.cpu_system_ns / 1e9, ts, start, {**ident, "cpu.mode": "system"}))
        mem.append(point(s.rss_bytes, ts, 0, ident))
        virt.append(point(s.vms_bytes, ts, 0, ident))
        fds.append(point(s.fds, ts, 0, ident))
        threads.append(point(s.threads, ts, 0, ident))
    gauge = [("process.memory.usage", "By", mem), ("process.memory.virtual", "By", virt),
             ("process.unix.file_descriptor.count", "{file_descriptor}", fds),
             ("process.thread.count", "{thread}", threads)]
    return [Metric(name="process.cpu.time", unit="s", sum=Sum(
                data_points=cpu, is_monotonic=True,
                aggregation_temporality=AGGREGATION_TEMPORALITY_CUMULATIVE))] + \
        [Metric(name=n, unit=u, gauge=Gauge(data_points=pts)) for n, u, pts in gauge]


def _sample(pid, comm, cgroup="", cpu_ns=0, rss=0, fds=3, threads=1):
    return ProcessSample(pid=pid, start_ns=10**9 + pid, ts_ns=5 * 10**12, cpu_user_ns=cpu_ns,
                         cpu_system_ns=cpu_ns // 3, rss_bytes=rss, vms_bytes=2**40 + rss,
                         threads=threads, fds=fds, fd_limit=1024, comm=comm,
                         cgroup_path=cgroup)


def test_samples_of_several_workloads_and_the_agents_own_parse_back_as_the_library_builds():
    ctx = test_context()
    host = ctx.host
    on_host = [_sample(1, "systemd", rss=12 << 20), _sample(127, "sh"),
               _sample(128, "ünïcødé ✓", cpu_ns=1), _sample(16_384, "x" * 15, rss=0, fds=0),
               _sample(4_194_304, "python3", cpu_ns=123_456_789_012, rss=2**33, fds=70_000,
                       threads=300)]
    in_pod = [_sample(2_097_152, "worker", POD_CGROUP, cpu_ns=10**9, rss=1 << 20)]
    own = Telemetry()
    own.counter("otel_linnix.process.forks", "forks").add(3)
    agent = AgentTelemetry(7 * 10**18, 6 * 10**18, tuple(own.snapshot()))

    request = RequestBuilder(ctx).build(Signal.METRICS, [*on_host, agent, *in_pod])
    parsed = ExportMetricsServiceRequest.FromString(request.SerializeToString())

    resources = Resources(host)
    scope = InstrumentationScope(name="otel-linnix", version=__version__)
    expected = ExportMetricsServiceRequest(resource_metrics=[
        ResourceMetrics(resource=resources.message(("", "")), scope_metrics=[
            ScopeMetrics(scope=scope, metrics=library_metrics(on_host, host))]),
        ResourceMetrics(resource=resources.message(("a" * 64, "1b2c3d4e-0000-4000-8000-00000000abcd")),
                        scope_metrics=[ScopeMetrics(scope=scope,
                                                    metrics=library_metrics(in_pod, host))]),
        ResourceMetrics(resource=build_resource(host, agent=True), scope_metrics=[
            ScopeMetrics(scope=scope, metrics=telemetry_metrics(
                agent.points, agent.time_unix_ns, agent.start_time_unix_ns))])])
    assert len(parsed.resource_metrics) == 3
    for got, want in zip(parsed.resource_metrics, expected.resource_metrics):
        for g, w in zip(got.scope_metrics[0].metrics, want.scope_metrics[0].metrics):
            assert g == w, w.name  # metric by metric, so a mismatch names the metric
    assert parsed == expected


def test_no_samples_no_request():
    assert RequestBuilder(test_context()).build(Signal.METRICS, []) is None
