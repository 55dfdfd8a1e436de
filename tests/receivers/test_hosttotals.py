"""The host's fork / exec / exit totals count an exit that stands for its fork and execs as
them all."""


from otel_linnix.receivers.hosttotals import HostTotals
from otel_linnix.telemetry import Telemetry
from otel_linnix.testing.builders import fold_brief, shell_steps


def _totals(records, forks=None, execs=None) -> dict[str, float]:
    telemetry = Telemetry()
    HostTotals(telemetry).count(records, forks, execs)
    return {name: telemetry.get(name).value() for name in
            ("otel_linnix.process.forks", "otel_linnix.process.execs",
             "otel_linnix.process.exits")}


def test_folded_forks_and_execs_are_counted_whether_or_not_the_caller_says_how_many():
    plain = shell_steps(5)
    folded = fold_brief(plain)
    assert len(folded) == 2 + 5
    expected = {"otel_linnix.process.forks": 6, "otel_linnix.process.execs": 3,
                "otel_linnix.process.exits": 5}
    assert _totals(plain) == expected
    assert _totals(folded) == expected
    assert _totals(folded, 5, 2) == expected
