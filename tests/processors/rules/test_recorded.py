"""The shipped rules on recordings made with ``otel-linnix record`` on this kind of machine:
a GNU autoconf ``./configure`` (hello 2.10, ~10 s of a few hundred short processes a second)
and the shell fork bomb scenario (``b(){ b|b& }; b`` under pids.max 2000, full in 0.35 s).

Replay has no kernel state (the bomb's cgroup is long gone): the bomb must be caught from the
record stream alone — the host's live count exploding — and named through the lineage."""

import gzip
import json
import os

from otel_linnix import recording
from otel_linnix.testing.rules import POLL_NS, feed, make

NS = 10**9
HERE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "recorded")


def replay(ctx, name):
    with gzip.open(os.path.join(HERE, f"{name}.jsonl.gz"), "rt") as fh:
        _, records = recording.read(fh)
        records = [r for r in records if type(r).__name__ != "Alert"]
    return feed(make(ctx), ctx, records, poll_ns=POLL_NS)


def test_recorded_configure_run_raises_no_warning_or_critical_alert(ctx):
    alerts = replay(ctx, "configure")
    assert [(a.rule, a.severity, a.message) for a in alerts if a.severity != "info"] == []


def test_recorded_fork_bomb_is_caught_within_a_second_naming_the_starting_shell(ctx):
    events = {}
    with open(os.path.join(HERE, "fork_bomb.events.jsonl")) as fh:
        for line in fh:
            event = json.loads(line)
            events[event["event"]] = event
    alerts = replay(ctx, "fork_bomb")
    storms = [a for a in alerts if a.rule == "fork_storm" and a.state == "firing"]
    assert storms, [a.message for a in alerts]
    latency = (storms[0].first_seen_ns - events["onset"]["t"]) / NS
    print(f"\nrecorded bomb: fork_storm {storms[0].severity} {latency:.2f}s after onset: "
          f"{storms[0].message}")
    assert latency <= 1.0
    culprit = events["onset"]["culprit"]
    assert {a.subject.pid for a in storms} == {culprit}
    assert storms[0].subject.exe.endswith("bash") and "b|b&" in " ".join(storms[0].subject.argv)
    assert any(a.severity == "critical" for a in storms)
    trees = [a for a in alerts if a.rule == "runaway_tree" and a.state == "firing"]
    assert trees and {a.subject.pid for a in trees} == {culprit}
