"""The collector's output: valid exposition, Prometheus names, bounded process series."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix.exporters.prometheus.collector import build_registry, select_processes
from otel_linnix.records import Alert, AlertSubject
from otel_linnix.testing import test_context

from .conftest import add_processes


def scrape(ctx, **kwargs) -> dict:
    """Parse the text exposition back, as Prometheus would: family name → family."""
    text = generate_latest(build_registry(ctx, **kwargs)).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def exposed(text: str) -> set[str]:
    """Sample names in a text exposition, as a scrape shows them."""
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def test_names_follow_prometheus_conventions():
    """As the agent's scrape endpoint exposes them: dots to underscores, base-unit suffixes,
    annotations dropped, counters ending in _total, the namespace first, labels sanitised."""
    ctx = test_context()
    t = ctx.telemetry
    t.counter("otel_linnix.receiver.lost", "lost").add(1)
    t.counter("a.sampler.seconds", "time", "s").add(1)
    t.counter("otel_linnix.pressure.stall", "stall", "s").add(1, (("k8s.pod.name", "p"),
                                                                   ("__reserved", "r")))
    t.gauge("x.spool", "bytes", "By").set(1)
    t.gauge("x.threads", "threads", "{thread}").set(1)
    add_processes(ctx, 1)
    names = exposed(generate_latest(build_registry(ctx)).decode())
    assert {"otel_linnix_receiver_lost_total", "a_sampler_seconds_total",
            "otel_linnix_pressure_stall_seconds_total", "x_spool_bytes", "x_threads",
            "process_cpu_time_seconds_total", "process_memory_usage_bytes",
            "process_thread_count"} <= names
    stall = generate_latest(build_registry(ctx)).decode()
    assert 'k8s_pod_name="p"' in stall and 'reserved="r"' in stall
    assert "edge_x_spool_bytes" in exposed(generate_latest(build_registry(
        ctx, namespace="edge")).decode())


def test_telemetry_counters_and_labels_are_exported():
    ctx = test_context()
    ctx.telemetry.counter("otel_linnix.receiver.lost", "Events lost").add(3)
    alerts = ctx.telemetry.counter("otel_linnix.alerts", "Alerts fired")
    alerts.add(2, (("rule", "fork_storm"), ("severity", "critical")))
    alerts.add(1, (("rule", "cpu_spike"), ("severity", "warning")))
    ctx.telemetry.gauge("otel_linnix.exporter.spool_bytes", "Spool size", "By").set(4096)
    fams = scrape(ctx)
    lost = fams["otel_linnix_receiver_lost"]
    assert lost.type == "counter"
    assert [(s.name, s.value) for s in lost.samples] == [("otel_linnix_receiver_lost_total", 3)]
    by_rule = {s.labels["rule"]: (s.labels["severity"], s.value)
               for s in fams["otel_linnix_alerts"].samples}
    assert by_rule == {"fork_storm": ("critical", 2), "cpu_spike": ("warning", 1)}
    assert fams["otel_linnix_exporter_spool_bytes"].samples[0].value == 4096
    # the process table registers its own health too
    assert "otel_linnix_process_table_size" in fams


def test_firing_alerts_gauge_counts_by_rule_and_severity():
    ctx = test_context()
    for i, rule in enumerate(["fork_storm", "fork_storm", "fd_exhaustion"]):
        ctx.alerts.add(Alert(id=f"a{i}", rule=rule, severity="warning", state="firing",
                             subject=AlertSubject(pid=100 + i), message="m",
                             first_seen_ns=1, last_seen_ns=2))
    firing = {s.labels["rule"]: s.value for s in scrape(ctx)["otel_linnix_alerts_active"].samples}
    assert firing == {"fork_storm": 2, "fd_exhaustion": 1}


def test_process_metrics_carry_pid_comm_and_match_the_samples(populated):
    fams = scrape(populated, top_n=5)
    table = {p.pid: p.last_sample for p in populated.process_table.snapshot()}
    cpu = fams["process_cpu_time_seconds"]
    assert cpu.type == "counter"
    for s in cpu.samples:
        if s.name.endswith("_created"):
            continue
        sample = table[int(s.labels["pid"])]
        expected = sample.cpu_user_ns if s.labels["cpu_mode"] == "user" else sample.cpu_system_ns
        assert abs(s.value - expected / 1e9) < 1e-9
        assert "argv" not in s.labels
    rss = {int(s.labels["pid"]): s.value for s in fams["process_memory_usage_bytes"].samples}
    top_rss = sorted(table, key=lambda pid: table[pid].rss_bytes, reverse=True)[:5]
    assert set(top_rss) <= set(rss)
    assert all(rss[pid] == table[pid].rss_bytes for pid in rss)
    for name in ("process_memory_virtual_bytes", "process_unix_file_descriptor_count",
                 "process_unix_file_descriptor_limit", "process_thread_count"):
        assert fams[name].samples, name


def test_label_cardinality_stays_bounded_with_10k_processes():
    ctx = test_context()
    add_processes(ctx, 10_000)
    fams = scrape(ctx, top_n=10)
    pids = {s.labels["pid"] for s in fams["process_memory_usage_bytes"].samples}
    assert 10 <= len(pids) <= 30  # union of three top-10 rankings
    for fam in fams.values():
        assert len(fam.samples) <= 2 * 30 + 10, fam.name  # cpu has user+system per process


def test_select_processes_adds_watched_but_bounded(populated):
    procs = populated.process_table.snapshot()
    lowest = sorted(procs, key=lambda p: p.last_sample.rss_bytes)[:8]
    chosen = select_processes(procs, top_n=3, watched=[p.key for p in lowest])
    keys = {p.key for p in chosen}
    assert len(keys & {p.key for p in lowest}) == 3  # at most top_n watched ones are added
    assert len(chosen) <= 4 * 3


def test_process_metrics_can_be_switched_off_and_namespaced(populated):
    fams = scrape(populated, process_metrics=False, namespace="node")
    assert not [n for n in fams if n.startswith(("process_", "node_process_"))]
    assert all(n.startswith("node_") for n in fams)


def test_unsampled_processes_get_no_series():
    ctx = test_context()
    from otel_linnix.records import ProcessStart

    ctx.process_table.apply([ProcessStart(5, 1, 10**9, 0, 0, 0, "idle")])
    assert scrape(ctx)["process_memory_usage_bytes"].samples == []
