"""Rules processor on replayed fixtures: each detector, lifecycle, cooldown, edge cases."""

import logging

import pytest

from otel_linnix.component import CreateSettings
from otel_linnix.config.errors import ConfigError
from otel_linnix.processors.rules import FACTORY, rulesfile
from otel_linnix.records import Alert
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.builders import sample

NS = 10**9


def make(ctx, rules_yaml=None, tmp_path=None):
    path = ""
    if rules_yaml is not None:
        path = str(tmp_path / "rules.yaml")
        open(path, "w").write(rules_yaml)
    return FACTORY.create(CreateSettings("rules", ctx, logging.getLogger("rules")),
                          {"rules_file": path})


def feed(proc, ctx, records, batch=50):
    """Apply to the table (as a receiver would) and process; returns the alerts made."""
    alerts = []
    for i in range(0, len(records), batch):
        chunk = records[i:i + batch]
        ctx.process_table.apply(chunk)
        alerts += [r for r in proc.process(chunk) if isinstance(r, Alert)]
    return alerts


def storm(tree, parent, seconds, per_second, comm="bomb"):
    for _ in range(int(seconds * per_second)):
        tree.advance(NS // per_second)
        pid = tree.spawn(parent, comm=comm)
        tree.exit(pid)


def test_fork_storm_fires_within_2s_of_onset(ctx):
    proc = make(ctx)
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash")
    onset = tree.now_ns
    storm(tree, shell, 3, 400)
    alerts = feed(proc, ctx, tree.records())
    storms = [a for a in alerts if a.rule == "fork_storm" and a.state == "firing"]
    assert len(storms) == 1
    lead = (storms[0].first_seen_ns - onset) / NS
    print(f"\nfork_storm fired {lead:.2f}s after onset")
    assert lead <= 2.0
    assert storms[0].evidence["forks_per_second"] >= 50
    assert ctx.alerts.firing()[0].rule == "fork_storm"


def test_a_build_like_load_fires_no_fork_alert(ctx):
    """make -j2 over 100 files: make forks a compiler driver, each runs cc1 and as (~30/s)."""
    proc = make(ctx)
    tree = ProcessTreeBuilder()
    make_pid = tree.spawn(1, comm="make", exe="/usr/bin/make")
    for i in range(100):
        tree.advance(NS // 10)
        gcc = tree.spawn(make_pid, comm="gcc", exe="/usr/bin/gcc")
        for tool in ("cc1", "as"):
            tree.advance(NS // 100)
            tree.exit(tree.spawn(gcc, comm=tool, exe=f"/usr/lib/gcc/{tool}"))
        tree.exit(gcc)
    alerts = feed(proc, ctx, tree.records())
    assert [a.rule for a in alerts if a.rule.startswith("fork")] == []


def test_fork_burst_names_the_parent(ctx):
    proc = make(ctx)
    tree = ProcessTreeBuilder()
    spawner = tree.spawn(1, comm="spawner")
    storm(tree, spawner, 2, 40)  # 80 forks in 2 s: a burst, but under the host-wide storm rate
    alerts = feed(proc, ctx, tree.records())
    bursts = [a for a in alerts if a.rule == "fork_burst"]
    assert len(bursts) == 1 and bursts[0].subject.pid == spawner
    assert bursts[0].subject.comm == "spawner"


def test_sixty_second_storm_is_one_alert_then_one_resolution(ctx):
    proc = make(ctx)
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash")
    storm(tree, shell, 60, 100)
    storm_records = tree.records()
    for _ in range(10):  # quiet afterwards: one fork a second keeps time moving
        tree.advance(NS)
        tree.spawn(shell, comm="tick")
    quiet = tree.records()[len(storm_records):]
    alerts = feed(proc, ctx, storm_records, batch=200) + feed(proc, ctx, quiet, batch=1)
    alerts = [a for a in alerts if a.rule == "fork_storm"]
    assert [a.state for a in alerts] == ["firing", "resolved"]
    assert alerts[0].id == alerts[1].id


def test_memory_leak_fires_before_the_limit(ctx, monkeypatch):
    from otel_linnix.processors.rules import limits

    limit = 512 * 2**20
    monkeypatch.setattr(limits, "memory_limit", lambda pid: limit)
    proc = make(ctx)
    rss, t = 50 * 2**20, 1000 * NS
    records = []
    while rss < limit:
        records.append(sample(4242, 999 * NS, t, rss=rss, comm="leaky"))
        t += NS
        rss += 8 * 2**20  # 8 MiB/s
    alerts = feed(proc, ctx, records, batch=1)
    leak = [a for a in alerts if a.rule == "memory_leak"]
    assert leak, "no memory_leak alert before the limit"
    at = next(r.rss_bytes for r in records if r.ts_ns >= leak[0].first_seen_ns)
    print(f"\nmemory_leak fired at {at >> 20} MiB of {limit >> 20} MiB "
          f"({leak[0].evidence['seconds_to_limit']}s before the limit)")
    assert at < limit and leak[0].evidence["seconds_to_limit"] > 0


def test_steady_memory_fires_nothing(ctx):
    proc = make(ctx)
    records = [sample(7, NS, (10 + i) * NS, rss=300 * 2**20 + (i % 2) * 4096) for i in range(60)]
    assert [a for a in feed(proc, ctx, records, batch=1) if a.rule == "memory_leak"] == []


def test_fd_exhaustion_by_ratio_and_projection(ctx):
    proc = make(ctx)
    records = [sample(9, NS, (10 + i) * NS, fds=100 + 30 * i, fd_limit=1024, comm="fdhog")
               for i in range(30)]
    alerts = feed(proc, ctx, records, batch=1)
    fd = [a for a in alerts if a.rule == "fd_exhaustion"]
    assert fd and fd[0].evidence["fds"] < 1024
    assert ctx.watched.keys()  # the subject is kept under sampling


def test_cpu_spike_needs_sustained_load_and_survives_counter_going_back(ctx):
    proc = make(ctx)
    recs = [sample(11, NS, (10 + i) * NS, cpu_ns=i * 99 * NS // 100, comm="spin")
            for i in range(20)]
    recs.insert(5, sample(11, NS, 14 * NS + 1, cpu_ns=0, comm="spin"))  # a counter reset
    alerts = feed(proc, ctx, recs, batch=1)
    assert [a.rule for a in alerts if a.state == "firing"].count("cpu_spike") <= 1


def test_pid_reuse_inside_a_window_is_two_subjects(ctx):
    proc = make(ctx)
    a = [sample(5, 1 * NS, (10 + i) * NS, fds=900 + i, fd_limit=1000) for i in range(3)]
    b = [sample(5, 5 * NS, (13 + i) * NS, fds=10, fd_limit=1000) for i in range(3)]
    alerts = feed(proc, ctx, a + b, batch=1)
    fired = [x for x in alerts if x.rule == "fd_exhaustion" and x.state == "firing"]
    assert len(fired) == 1 and fired[0].subject.start_ns in (0, 1 * NS)


def test_bad_rules_file_names_the_rule_and_key(tmp_path):
    bad = "rules:\n  - name: storm\n    type: fork_storm\n    treshold: 5\n"
    with pytest.raises(ConfigError) as info:
        rulesfile.parse(bad, "r.yaml")
    assert info.value.lines() == ["r.yaml: rules[0](storm).treshold: unknown key; "
                                  "did you mean 'threshold'?"]
    with pytest.raises(ConfigError, match="invalid YAML"):
        rulesfile.parse("rules: [", "r.yaml")


def test_reload_keeps_old_rules_when_the_new_file_is_invalid(ctx, tmp_path):
    good = "rules:\n  - {name: storm, type: fork_storm, threshold: 10, window: 1s}\n"
    proc = make(ctx, good, tmp_path)
    (tmp_path / "rules.yaml").write_text("rules:\n  - {name: storm, type: nope}\n")
    with pytest.raises(ConfigError):
        proc.reload()
    assert [d.rule["threshold"] for d in proc.engine.detectors] == [10]
    (tmp_path / "rules.yaml").write_text(good.replace("10", "20"))
    proc.reload()
    assert [d.rule["threshold"] for d in proc.engine.detectors] == [20]


def test_runaway_tree_fires_on_a_growing_tree_and_not_on_a_big_stable_one(ctx, tmp_path):
    rules = "rules:\n  - {name: runaway, type: runaway_tree, threshold: 50, window: 2s}\n"
    proc = make(ctx, rules, tmp_path)
    tree = ProcessTreeBuilder()
    root = tree.spawn(1, comm="svc")
    for _ in range(40):  # 40 live children, then steady for 5 s: below threshold
        tree.advance(NS // 100)
        tree.spawn(root, comm="worker")
    for _ in range(5):
        tree.advance(NS)
        tree.spawn(root, comm="tick")
    steady = feed(proc, ctx, tree.records(), batch=5)
    assert [a for a in steady if a.rule == "runaway"] == []
    start = len(tree.records())
    for _ in range(60):  # keeps growing past the threshold
        tree.advance(NS // 20)
        tree.spawn(root, comm="worker")
    grown = feed(proc, ctx, tree.records()[start:], batch=5)
    fired = [a for a in grown if a.rule == "runaway"]
    assert len(fired) == 1 and fired[0].subject.pid == root
    assert fired[0].evidence["live"] >= 50


def test_short_job_flood_counts_only_short_children(ctx, tmp_path):
    rules = ("rules:\n  - {name: flood, type: short_job_flood, threshold: 30, window: 5s,"
             " max_lifetime: 100ms}\n")
    proc = make(ctx, rules, tmp_path)
    tree = ProcessTreeBuilder()
    cron = tree.spawn(1, comm="cron")
    for _ in range(40):  # children living exactly max_lifetime: not "short", not a flood
        child = tree.spawn(cron, comm="job")
        tree.advance(NS // 10)
        tree.exit(child)
    assert [a for a in feed(proc, ctx, tree.records(), batch=5) if a.rule == "flood"] == []
    start = len(tree.records())
    for _ in range(40):  # 40 children living 5 ms each within 2 s
        child = tree.spawn(cron, comm="job")
        tree.advance(NS // 200)
        tree.exit(child)
        tree.advance(NS // 20)
    flood = [a for a in feed(proc, ctx, tree.records()[start:], batch=5) if a.rule == "flood"]
    assert len(flood) == 1 and flood[0].subject.pid == cron
