"""The host's fork / exec / exit totals count an exit that stands for its fork as both."""

from dataclasses import replace

from otel_linnix.receivers.hosttotals import HostTotals
from otel_linnix.telemetry import Telemetry
from otel_linnix.testing import ProcessTreeBuilder


def _totals(records, folded=None) -> dict[str, float]:
    telemetry = Telemetry()
    HostTotals(telemetry).count(records, folded)
    return {name: telemetry.get(name).value() for name in
            ("otel_linnix.process.forks", "otel_linnix.process.execs",
             "otel_linnix.process.exits")}


def test_folded_forks_are_counted_whether_or_not_the_caller_says_how_many():
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="sh", exe="/bin/sh")
    for _ in range(5):
        tree.exit(tree.spawn(shell, comm="sh"))
    plain = tree.records()
    folded = [r for r in plain if r.pid == shell] + [
        replace(r, fork_folded=True) for r in plain if r.pid != shell and hasattr(r, "exit_ns")]
    expected = {"otel_linnix.process.forks": 6, "otel_linnix.process.execs": 1,
                "otel_linnix.process.exits": 5}
    assert _totals(plain) == expected
    assert _totals(folded) == expected
    assert _totals(folded, 5) == expected
