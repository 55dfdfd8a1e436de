"""Scoring of the detection benchmark: what counts as caught, as a false page, and the table."""

from bench.detect_report import Outcome, caught, row, summary, table

NS = 10**9


def alert(rule, pid, t, severity="critical"):
    return {"rule": rule, "severity": severity, "pid": pid, "t": t, "message": "m"}


def test_caught_needs_the_expected_rule_naming_the_culprit_and_info_never_pages():
    bomb = Outcome("fork bomb", "trouble", culprit=42, rules=("fork_storm",), onset_t=10 * NS,
                   latency_target_s=1.0,
                   alerts=[alert("fork_storm", 7, 10 * NS + NS // 5),  # wrong subject
                           alert("fork_storm", 42, 10 * NS + NS // 2),
                           alert("fork_burst", 42, 10 * NS, severity="info")])
    assert caught(bomb)["t"] == 10 * NS + NS // 2
    assert row(bomb)[-2] == "met" and "0.50s after onset" in row(bomb)[2]
    late = Outcome("fork bomb", "trouble", culprit=42, rules=("fork_storm",), onset_t=0,
                   latency_target_s=1.0, alerts=[alert("fork_storm", 42, 2 * NS)])
    assert row(late)[-2] == "MISSED"


def test_leak_must_page_before_the_failure_and_benign_pages_are_false_positives():
    leak = Outcome("memory leak", "trouble", culprit=5, rules=("memory_leak",), onset_t=0,
                   failure_t=30 * NS, alerts=[alert("memory_leak", 5, 31 * NS, "warning")])
    assert row(leak)[-2] == "MISSED"
    leak.alerts[0]["t"] = 12 * NS
    assert row(leak)[-2] == "met" and "18.0s before the limit" in row(leak)[2]
    build = Outcome("configure+make", "benign", alerts=[alert("cpu_spike", 9, NS, "warning")])
    quiet = Outcome("git", "benign", alerts=[alert("fork_burst", 9, NS, "info")])
    broken = Outcome("pip install", "benign", error="exit 1: no network")
    s = summary([leak, build, quiet, broken])
    assert (s["true_positives"], s["false_positives"], s["precision"], s["recall"]) == (
        1, 1, 0.5, 1.0)
    assert s["benign_paging"] == 1 and s["errors"] == ["pip install: exit 1: no network"]
    text = table([leak, build, quiet, broken])
    assert "| benign | git | none | 0 paging alerts | met |" in text
    assert "cpu_spike (warning)" in text and "not run" in text


def test_latency_from_the_failure_and_any_of_several_culprits():
    oom = Outcome("oom kill", "trouble", culprit=8, rules=("oom_kill",), onset_t=0,
                  failure_t=5 * NS, latency_target_s=1.0, latency_from="failure",
                  alerts=[alert("oom_kill", 8, 5 * NS + NS // 4)])
    assert row(oom)[-2] == "met" and "0.25s after failure" in row(oom)[2]
    oom.alerts[0]["t"] = 7 * NS
    assert row(oom)[-2] == "MISSED"
    busy = Outcome("cpu contention", "trouble", culprit=[3, 4], rules=("cpu_pressure",),
                   alerts=[alert("cpu_pressure", 4, NS, "warning"),
                           alert("cpu_spike", 9, NS, "warning")])
    assert caught(busy)["pid"] == 4
    assert summary([busy])["false_positives"] == 1
