"""Each scenario fires its alert with the real agent, before its failure point (lead time printed)."""

import subprocess
import time

import pytest

from otel_linnix.testing.otlp_server import OTLPServer, attributes
from otel_linnix.testing.scenario import firing, live_agent, run_scenario
from otel_linnix.testing.telemetry_checks import counted

pytestmark = pytest.mark.bpf
NS = 1e9


def test_shell_fork_bomb_alerts_within_1s_naming_the_starting_shell():
    with live_agent() as ctx:
        pid, events = run_scenario("fork_bomb", "--seconds", "4", "--cap", "2000")
    storms = firing(ctx, "fork_storm")
    assert storms, "no fork_storm alert"
    latency = (storms[0].first_seen_ns - events["onset"]["t"]) / NS
    print(f"\nfork_storm {storms[0].severity} {latency:.2f}s after onset: {storms[0].message}")
    assert latency <= 1.0
    assert storms[0].subject.pid == events["onset"]["culprit"]
    assert storms[0].subject.exe.endswith("bash") and "b|b&" in " ".join(storms[0].subject.argv)
    assert any(a.severity == "critical" for a in storms)
    trees = firing(ctx, "runaway_tree")
    assert trees and {a.subject.pid for a in trees} == {events["onset"]["culprit"]}


def test_slow_fork_flood_alerts_before_fork_fails():
    with live_agent() as ctx:
        pid, events = run_scenario("slow_fork_flood", "--rate", "40", "--cap", "800")
    storms = firing(ctx, "fork_storm")
    assert storms and "failure" in events
    lead = (events["failure"]["t"] - storms[0].first_seen_ns) / NS
    print(f"\nfork_storm {lead:.1f}s before fork failed: {storms[0].message}")
    assert lead > 0 and storms[0].subject.pid == pid


def test_runaway_tree_names_the_supervisor():
    with live_agent() as ctx:
        pid, events = run_scenario("runaway_tree", "--rate", "80", "--target", "700",
                                   "--seconds", "12")
    trees = firing(ctx, "runaway_tree")
    assert trees, "no runaway_tree alert"
    assert {a.subject.pid for a in trees} == {events["onset"]["culprit"]}, trees[0].message


def test_memory_leak_alerts_before_the_limit():
    with live_agent() as ctx:
        pid, events = run_scenario("memory_leak", "--limit", "200", "--rate", "8",
                                   "--seconds", "40")
    leaks = firing(ctx, "memory_leak", pid)
    assert leaks, "no memory_leak alert"
    assert "failure" in events
    lead = (events["failure"]["t"] - leaks[0].first_seen_ns) / NS
    print(f"\nmemory_leak alert {lead:.1f}s before the limit ({leaks[0].message})")
    assert lead > 0


def test_fd_exhaustion_alerts_before_emfile():
    with live_agent() as ctx:
        pid, events = run_scenario("fd_exhaustion", "--limit", "256", "--rate", "10",
                                   "--seconds", "40")
    fds = firing(ctx, "fd_exhaustion", pid)
    assert fds, "no fd_exhaustion alert"
    lead = (events["failure"]["t"] - fds[0].first_seen_ns) / NS
    print(f"\nfd_exhaustion alert {lead:.1f}s before EMFILE ({fds[0].message})")
    assert lead > 0


def test_cpu_spin_alerts(tmp_path):
    rules = tmp_path / "rules.yaml"
    # half a core for 5 s: the shared 2-core test machine cannot promise a spinner 90 %
    rules.write_text("rules:\n  - {name: cpu_spike, type: cpu_spike, threshold: 0.5, window: 5s}\n")
    with live_agent(str(rules)) as ctx:
        pid, events = run_scenario("cpu_spin", "--seconds", "10")
    spikes = firing(ctx, "cpu_spike", pid)
    assert spikes, "no cpu_spike alert"
    print(f"\ncpu_spike {(spikes[0].first_seen_ns - events['onset']['t']) / NS:.1f}s after onset")


def test_parallel_build_fires_no_fork_alert(tmp_path):
    for i in range(100):
        (tmp_path / f"f{i}.c").write_text(f"int f{i}(int x) {{ return x * {i} + 1; }}\n")
    (tmp_path / "Makefile").write_text(
        "OBJS := $(patsubst %.c,%.o,$(wildcard *.c))\nall: $(OBJS)\n%.o: %.c\n\tgcc -O2 -c $< -o $@\n")
    with live_agent() as ctx:
        build = subprocess.run(["make", "-j2", "-C", str(tmp_path)], capture_output=True)
    assert build.returncode == 0
    forks = ctx.telemetry.get("otel_linnix.process.forks").value()
    fork_alerts = [a for a in ctx.alerts.recent() if a.state == "firing"
                   and a.severity != "info"]
    print(f"\nmake -j2 over 100 files: {forks:.0f} forks seen on the host")
    assert fork_alerts == [], [a.message for a in fork_alerts]


def test_a_quiet_30s_fires_nothing():
    """Default rules on the idle machine (CI runs nothing else) for 30 s: no alert at all."""
    import time

    with live_agent() as ctx:
        time.sleep(30)
    assert [(a.rule, a.message) for a in ctx.alerts.recent()] == []


def test_oom_kill_is_named_on_the_span_and_in_an_alert_within_1s():
    server = OTLPServer()
    try:
        with live_agent(otlp_port=server.start_grpc()) as ctx:
            _, events = run_scenario("oom_kill", "--limit", "64", "--seconds", "30")
            assert "failure" in events, events
            victim = events["onset"]["victim"]
            spans = server.spans_of(victim)
        kills = firing(ctx, "oom_kill", victim)
    finally:
        server.stop()
    assert kills, "no oom_kill alert"
    alert = kills[0]
    latency = (alert.first_seen_ns - events["failure"]["t"]) / NS
    print(f"\noom_kill {latency:+.2f}s after the victim's death: {alert.message}")
    assert latency <= 1.0
    memcg = alert.evidence["memcg"]
    assert memcg.startswith("/otel-linnix-demo-oom-kill-") and memcg in alert.message
    assert alert.evidence["memory_limit_bytes"] == 64 << 20
    assert alert.evidence["rss_bytes"] > 48 << 20
    assert alert.subject.pid == victim and "python" in alert.subject.exe
    assert events["done"]["oom_kills"] == 1  # the cgroup's own count agrees: one kill
    assert counted(ctx, "otel_linnix.oom.kills", cgroup="/") >= 1  # the host's count too
    assert spans, "no span for the victim"
    span, attrs = spans[-1], attributes(spans[-1])
    assert span.status.code == 2 and span.status.message == "killed by the OOM killer"
    assert attrs["otel_linnix.process.signal"] == {"intValue": "9"}
    assert attrs["otel_linnix.process.oom_killed"] == {"boolValue": True}
    assert int(attrs["otel_linnix.oom.rss_bytes"]["intValue"]) == alert.evidence["rss_bytes"]
    assert attrs["otel_linnix.oom.memory_limit_bytes"] == {"intValue": str(64 << 20)}
    assert attrs["otel_linnix.oom.memcg"] == {"stringValue": memcg}


def test_cpu_contention_raises_pressure_naming_the_cgroups_workers(tmp_path):
    rules = tmp_path / "rules.yaml"
    # the shipped rule, sustained 5 s instead of 30 s (the test's patience, not the judgement)
    rules.write_text("rules:\n  - {name: cpu_pressure, type: pressure, resource: cpu, "
                     "kind: some, threshold: 0.8, window: 5s, min_duration: 5s}\n")
    with live_agent(str(rules)) as ctx:
        _, events = run_scenario("cpu_contention", "--seconds", "15")
    alerts = firing(ctx, "cpu_pressure")
    assert alerts, "no cpu_pressure alert"
    alert, workers = alerts[0], set(events["onset"]["workers"])
    print(f"\ncpu_pressure: {alert.message}")
    users = alert.evidence["top_users"]  # kept while the alert outlives the workers
    assert users and {u["pid"] for u in users[:len(workers)]} <= workers
    assert alert.subject.pid in workers
    assert alert.evidence["cgroups"][0] == events["onset"]["cgroup"]
    # run-queue starvation: the workers also waited for a CPU much of the time
    waited = {w["pid"]: w["wait_share"] for w in alert.evidence["waiting"]}
    assert any(waited.get(pid, 0) > 0.2 for pid in workers), waited


def test_an_idle_host_raises_no_pressure_alert(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n" + "".join(
        f"  - {{name: {r}_pressure, type: pressure, resource: {r}, kind: {k}, threshold: {t}, "
        f"window: 5s, min_duration: 5s}}\n"
        for r, k, t in (("cpu", "some", 0.8), ("memory", "full", 0.1), ("io", "full", 0.3))))
    with live_agent(str(rules)) as ctx:
        time.sleep(12)
    assert not [a for a in ctx.alerts.recent() if a.rule.endswith("_pressure")]
