"""The oom_kill and pressure rules on built records: what they name, when they fire, when not."""

from otel_linnix.records import OomKill, PressureSample
from otel_linnix.testing import ProcessTreeBuilder, test_context
from otel_linnix.testing.builders import sample
from otel_linnix.testing.rules import NS, feed, make

OOM_RULES = """
rules:
  - {name: big_rss, type: rss_high, threshold: 33554432, window: 5s}
  - {name: oom_kill, type: oom_kill, severity: critical, window: 60s, hold: 0s, cooldown: 0s}
"""


def oom_of(tree, pid, memcg="/jobs/batch", limit=64 << 20):
    proc = tree.procs[pid]
    return OomKill(pid, proc.start_ns, tree.now_ns, proc.comm, 1000, 0, 90 << 20, 60 << 20,
                   4 << 20, 0, 1 << 20, memcg, limit)


def test_an_oom_kill_names_the_victim_its_cgroup_and_the_memory_alert_that_predicted_it(
        tmp_path):
    ctx = test_context()
    proc = make(ctx, OOM_RULES, tmp_path)
    tree = ProcessTreeBuilder()
    victim = tree.spawn(comm="python3", exe="/usr/bin/python3", argv=("python3", "leak.py"))
    start = tree.procs[victim].start_ns
    records = tree.records()
    for second in range(30):  # 2 MiB/s, steadily, toward the limit
        records.append(sample(victim, start, start + second * NS, rss=(8 + 2 * second) << 20,
                              comm="python3"))
    tree.now_ns = start + 30 * NS
    alerts = feed(proc, ctx, records)
    leak = [a for a in alerts if a.rule == "big_rss" and a.state == "firing"]
    assert leak and leak[0].subject.pid == victim
    kill = oom_of(tree, victim)
    tree.advance(NS // 100)
    death = tree.exit(victim, signal=9)
    death.oom_killed = True
    alerts = feed(proc, ctx, [kill, death, sample(1, 0, tree.now_ns + NS)])
    fired = [a for a in alerts if a.rule == "oom_kill"]
    assert len(fired) == 1
    alert = fired[0]
    assert alert.severity == "critical" and alert.subject.pid == victim
    assert alert.subject.exe == "/usr/bin/python3" and alert.subject.argv == ("python3", "leak.py")
    assert "/jobs/batch" in alert.message and "64.0 MiB limit" in alert.message
    assert alert.evidence["predicted_by"] == [leak[0].id]
    assert f"predicted by alert {leak[0].id}" in alert.message
    assert alert.evidence["rss_bytes"] == 64 << 20
    # an event, not a state: it resolves once its window has passed
    later = feed(proc, ctx, [sample(1, 0, tree.now_ns + 62 * NS)])
    assert [a.state for a in later if a.rule == "oom_kill"] == ["resolved"]


def test_a_victim_whose_whole_life_is_in_one_batch_is_named_after_another_exit(tmp_path):
    # A batch can hold a short-lived victim's fork, exec, kill and exit, and an unrelated exit
    # ahead of them all: the rule must take the kill before the victim's exit all the same.
    ctx = test_context()
    proc = make(ctx, OOM_RULES, tmp_path)
    tree = ProcessTreeBuilder()
    other = tree.spawn(comm="true")
    feed(proc, ctx, tree.records())
    tree.advance(NS // 100)
    batch = [tree.exit(other)]
    victim = tree.spawn(comm="python3", exe="/usr/bin/python3", argv=("python3", "hog.py"))
    batch += [r for r in tree.records() if getattr(r, "pid", None) == victim]
    tree.advance(NS // 10)
    kill = oom_of(tree, victim)
    death = tree.exit(victim, signal=9)
    death.oom_killed = True
    alerts = feed(proc, ctx, [*batch, kill, death, sample(1, 0, tree.now_ns + NS)], batch=100)
    alert = next(a for a in alerts if a.rule == "oom_kill")
    assert alert.subject.exe == "/usr/bin/python3" and alert.subject.argv == ("python3", "hog.py")


def test_a_host_wide_oom_names_no_cgroup(tmp_path):
    ctx = test_context()
    proc = make(ctx, OOM_RULES, tmp_path)
    tree = ProcessTreeBuilder()
    victim = tree.spawn(comm="java")
    alerts = feed(proc, ctx, [*tree.records(), oom_of(tree, victim, memcg="", limit=0),
                              sample(1, 0, tree.now_ns + NS)])
    alert = next(a for a in alerts if a.rule == "oom_kill")
    assert alert.message.startswith(f"OOM killer killed java (pid {victim}): RSS 64.0 MiB")
    assert alert.evidence["memcg"] == "" and not alert.evidence["predicted_by"]


PRESSURE_RULES = """
rules:
  - {name: cpu_pressure, type: pressure, resource: cpu, kind: some, threshold: 0.8,
     window: 10s, min_duration: 15s, hold: 5s, cooldown: 60s}
"""


def pressure_run(tree, seconds, share, cgroup="/", start_total=0):
    """PressureSample every second with the stall growing at ``share`` of wall time."""
    out, total = [], start_total
    for _ in range(seconds):
        tree.advance(NS)
        total += int(share * NS)
        out.append(PressureSample(tree.now_ns, "cpu", cgroup, total, 0))
    return out, total


def test_sustained_cpu_pressure_fires_naming_the_top_cpu_users(tmp_path):
    ctx = test_context()
    proc = make(ctx, PRESSURE_RULES, tmp_path)
    tree = ProcessTreeBuilder()
    busy = [tree.spawn(comm=f"worker{i}") for i in range(3)]
    idle = tree.spawn(comm="sleeper")
    starts = {p: tree.procs[p].start_ns for p in [*busy, idle]}
    assert not feed(proc, ctx, tree.records())
    calm, total = pressure_run(tree, 12, 0.3)  # moderate: nothing
    assert not feed(proc, ctx, calm)

    def hot_seconds(n, total, first):
        out = []
        for second in range(first, first + n):
            stall, total = pressure_run(tree, 1, 0.95, start_total=total)
            for i, pid in enumerate(busy):  # worker0 the busiest, then 1, 2
                out.append(sample(pid, starts[pid], tree.now_ns,
                                  cpu_ns=second * (NS - i * NS // 10), comm=f"worker{i}"))
            waiter = sample(idle, starts[idle], tree.now_ns, comm="sleeper")
            waiter.run_delay_ns = second * NS // 2  # runnable, and waiting half the time
            out += [waiter, *stall]
        return out, total

    # the 10 s window is above 0.8 after ~8 hot seconds; it must then hold 15 s more
    early, total = hot_seconds(20, total, 1)
    assert not feed(proc, ctx, early), "fired before the stall was sustained for min_duration"
    more, _ = hot_seconds(6, total, 21)
    alerts = feed(proc, ctx, more)
    assert [a.rule for a in alerts] == ["cpu_pressure"]
    alert = alerts[0]
    assert alert.evidence["stall_share"] >= 0.9 and alert.evidence["cgroup"] == "/"
    assert [u["pid"] for u in alert.evidence["top_users"]][:3] == busy
    assert alert.subject.pid == busy[0]
    assert "cpu pressure (host)" in alert.message and "worker0" in alert.message
    assert alert.evidence["waiting"] == [{"pid": idle, "comm": "sleeper", "wait_share": 0.5}]

    # the workers exit; the stall lingers a while: the alert keeps naming who caused it
    ended = [tree.exit(pid) for pid in busy]
    lingering, _ = pressure_run(tree, 20, 0.95, start_total=total + 6 * NS)
    assert not feed(proc, ctx, [*ended, *lingering])
    [still] = [a for a in ctx.alerts.firing() if a.rule == "cpu_pressure"]
    assert [u["pid"] for u in still.evidence["top_users"]][:3] == busy
    assert still.evidence["cgroups"] == alert.evidence["cgroups"]


def test_pressure_below_threshold_or_too_short_stays_silent(tmp_path):
    ctx = test_context()
    proc = make(ctx, PRESSURE_RULES, tmp_path)
    tree = ProcessTreeBuilder()
    calm, total = pressure_run(tree, 40, 0.7)
    burst, total = pressure_run(tree, 10, 1.0, start_total=total)  # 10 s < 15 s sustained
    calm2, _ = pressure_run(tree, 30, 0.1, start_total=total)
    assert not feed(proc, ctx, [*calm, *burst, *calm2])
