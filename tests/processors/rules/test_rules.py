"""Rules processor on replayed fixtures: each detector, lifecycle, cooldown, edge cases."""

import pytest

from otel_linnix.config.errors import ConfigError
from otel_linnix.processors.rules import rulesfile
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.builders import sample
from otel_linnix.testing.rules import feed, make, storm

NS = 10**9


@pytest.mark.parametrize("fold", [False, True], ids=["fork records", "forks folded in exits"])
def test_fork_burst_names_the_parent(ctx, fold):
    proc = make(ctx)
    tree = ProcessTreeBuilder()
    spawner = tree.spawn(1, comm="spawner")
    storm(tree, spawner, 2, 40)  # 80 forks in 2 s: a burst, but under the host-wide storm rate
    alerts = feed(proc, ctx, tree.records(), fold=fold)
    bursts = [a for a in alerts if a.rule == "fork_burst"]
    assert len(bursts) == 1 and bursts[0].subject.pid == spawner
    assert bursts[0].subject.comm == "spawner"


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
    """The shipped rule: 95 % of a core over every interval of 30 s. A busy spell of 20 s is
    not enough; a counter that goes back (a reset) makes no alert of its own, and the process
    still alerts once the reset has left the window."""
    proc = make(ctx)
    short = [sample(12, NS, (10 + i) * NS, cpu_ns=i * 99 * NS // 100, comm="burst")
             for i in range(20)]
    short += [sample(12, NS, (30 + i) * NS, cpu_ns=19 * 99 * NS // 100, comm="burst")
              for i in range(20)]  # then idle
    spin = [sample(11, NS, (10 + i) * NS, cpu_ns=i * 99 * NS // 100, comm="spin")
            for i in range(45)]
    spin.insert(5, sample(11, NS, 14 * NS + 1, cpu_ns=0, comm="spin"))  # a counter reset
    recs = sorted(short + spin, key=lambda r: r.ts_ns)
    fired = [a for a in feed(proc, ctx, recs, batch=1)
             if a.rule == "cpu_spike" and a.state == "firing"]
    assert [a.subject.pid for a in fired] == [11]
    assert fired[0].first_seen_ns >= (15 + 30) * NS - NS  # only once the reset is 30 s behind


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


def test_one_burst_of_fds_is_not_a_trend(ctx):
    """A server accepting 1500 connections at once, at 8 % of its fd limit, then steady: the
    burst projects "full in 200 s" and is wrong; a sustained leak is graded by time left."""
    proc = make(ctx)
    fds = [50] * 8 + [1550] * 30
    burst = [sample(21, NS, (10 + i) * NS, fds=n, fd_limit=20000, comm="agent")
             for i, n in enumerate(fds)]
    assert [a for a in feed(proc, ctx, burst, batch=1) if a.rule == "fd_exhaustion"] == []
    leak = [sample(22, NS, (10 + i) * NS, fds=100 + 100 * i, fd_limit=20000, comm="leaky")
            for i in range(100)]
    fired = [a for a in feed(proc, ctx, leak, batch=1)
             if a.rule == "fd_exhaustion" and a.state == "firing"]
    assert [a.severity for a in fired] == ["warning", "critical"]
    assert "full in" in fired[0].message and fired[1].evidence["seconds_to_limit"] <= 120


def test_forks_are_grouped_by_parent_whether_a_batch_has_one_parent_or_several():
    from otel_linnix.processors.rules.detectors import times_by_parent
    from otel_linnix.records import ProcessStart

    def fork(pid, ppid, pstart):
        return ProcessStart(pid, ppid, pid * 10, pstart, 0, 0, "x")

    one = [fork(p, 40, 7) for p in range(100, 110)]
    assert times_by_parent(one, [r.start_ns for r in one]) == {(40, 7): [r.start_ns for r in one]}
    mixed = [fork(100, 40, 7), fork(101, 1, 0), fork(102, 40, 9), fork(103, 40, 7),
             fork(104, 2, 0)]
    assert times_by_parent(mixed, [r.start_ns for r in mixed]) == {
        (40, 7): [1000, 1030], (40, 9): [1020]}
    assert times_by_parent([fork(5, 1, 0), fork(6, 1, 0)], [50, 60]) == {}
    assert times_by_parent([], []) == {}


def test_fork_burst_judges_each_parent_as_a_full_recount_would():
    """A build's many parents, a steady forker that stays over the threshold, bursts that
    come and go: at every evaluation the findings are exactly the parents with ``threshold``
    forks or more in the window, counted afresh from every fork so far, and once the window
    has passed with no forks no parent is kept."""
    from otel_linnix.processors.rules.detectors import ForkBurst
    from otel_linnix.processors.rules.lineage import Lineage
    from otel_linnix.proctable import ProcessTable
    from otel_linnix.records import ProcessStart, process_key

    window, threshold, step = 5 * NS, 20, NS // 4
    table = ProcessTable()
    det = ForkBurst({"name": "burst", "type": "fork_burst", "window": "5s",
                     "threshold": threshold, "hold": "0s"}, table, Lineage(table))
    forks: dict[tuple[int, int], list[int]] = {}
    pid, now, fired = 10_000, 100 * NS, set()

    def fork(parent: int, at: int) -> ProcessStart:
        nonlocal pid
        pid += 1
        forks.setdefault(process_key(parent, parent * NS), []).append(at)
        return ProcessStart(pid, parent, at, parent * NS, 0, 0, "cc")

    for tick in range(240):  # 60 s of record time
        batch = [fork(100 + 3 * tick + j, now + j * 1000) for j in range(3)]  # new parents
        if tick < 120:
            batch.append(fork(50, now + 5000))  # 4/s: 20 in the window, just at the threshold
        if tick % 40 < 4:
            batch += [fork(60 + tick // 40, now + 6000 + k) for k in range(8)]  # a burst of 32
        now += step
        det.observe_many(sorted(batch, key=lambda r: r.start_ns))
        found = {f.key: f.evidence["forks"] for f in det.evaluate(now)}
        expected = {key: n for key, times in forks.items()
                    if (n := sum(t >= now - window for t in times)) >= threshold}
        assert found == expected, f"at tick {tick}"
        fired |= found.keys()
    assert {key[0] for key in fired} == {50, *range(60, 66)}
    assert det.evaluate(now + window + step) == [] and len(det.by_parent) == 0
