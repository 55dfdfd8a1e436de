"""Linnix's rules files (its shipped configs/rules.yaml, and the TOML form) map onto rules."""

import os

import pytest

from otel_linnix.config.errors import ConfigError
from otel_linnix.processors.rules import rulesfile
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.rules import feed, make, storm

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "linnix", "rules.yaml")
TOML = """
[[rules]]
name = "fork_storm"
detector = "forks_per_sec"
threshold = 5
duration = 1
severity = "high"
cooldown = 10

[[rules]]
name = "cpu_spin"
detector = "subtree_cpu_pct"
threshold = 90.0
duration = 15
severity = "medium"
"""


def test_linnix_shipped_rules_yaml_maps_onto_rules():
    rules = {r["name"]: r for r in rulesfile.load(FIXTURE)}
    storm_rule = rules["fork_storm_demo"]
    assert storm_rule["type"] == "fork_storm" and storm_rule["rate_severity"] == "critical"
    assert storm_rule["rate_floor_per_cpu"] * (os.cpu_count() or 1) == pytest.approx(10)
    assert storm_rule["learn"] is False and storm_rule["cooldown"] == "30s"
    assert (rules["fork_burst_demo"]["threshold"], rules["fork_burst_demo"]["window"]) == (30, "5s")
    assert (rules["memory_leak_demo"]["type"], rules["memory_leak_demo"]["threshold"]) == (
        "rss_high", 50 * 2**20)
    assert rules["cpu_spike_demo"]["type"] == "cpu_spike"
    assert rules["cpu_spike_demo"]["threshold"] == pytest.approx(0.5)


def test_linnix_detector_without_equivalent_is_named(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(open(FIXTURE).read().replace("subtree_rss_mb", "zombie_count"))
    with pytest.raises(ConfigError) as info:
        rulesfile.load(str(path))
    assert "rules[2](memory_leak_demo)" in str(info.value)
    assert "zombie_count" in str(info.value) and "no otel-linnix equivalent" in str(info.value)


def test_linnix_toml_threshold_fires_at_exactly_that_rate(ctx, tmp_path):
    """forks_per_sec threshold 5 over 1 s: a Linnix user's explicit threshold, honoured."""
    path = tmp_path / "rules.toml"
    path.write_text(TOML)
    rules = rulesfile.load(str(path))
    assert [(r["name"], r["type"], r["severity"]) for r in rules] == [
        ("fork_storm", "fork_storm", "critical"), ("cpu_spin", "cpu_spike", "warning")]
    proc = make(ctx, rules_file=str(path))
    tree = ProcessTreeBuilder()
    sh = tree.spawn(1, comm="sh")
    storm(tree, sh, 3, 3)  # 3/s: under
    assert [a for a in feed(proc, ctx, tree.records(), batch=1) if a.rule == "fork_storm"] == []
    start = len(tree.records())
    storm(tree, sh, 3, 20)  # 20/s: over
    fired = [a for a in feed(proc, ctx, tree.records()[start:], batch=1)
             if a.rule == "fork_storm" and a.state == "firing"]
    assert len(fired) == 1 and fired[0].severity == "critical" and fired[0].subject.pid == sh


def test_a_fork_storm_threshold_written_in_a_rules_file_keeps_meaning_that_rate():
    rules = rulesfile.parse("rules:\n  - {name: storm, type: fork_storm, threshold: 50}\n", "r")
    rule = rules[0]
    assert rule["rate_floor_per_cpu"] * (os.cpu_count() or 1) == pytest.approx(50)
    assert (rule["rate_factor"], rule["learn"]) == (1, False)
    shipped = {r["name"]: r for r in rulesfile.load(None)}["fork_storm"]
    assert shipped["learn"] is True and shipped["rate_floor_per_cpu"] == 2500


def test_linnix_system_psi_detectors_become_host_pressure_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n"
                    "  - {name: cpu psi, detector: system_psi_cpu, threshold_pct: 40, duration: 15,"
                    " severity: medium}\n"
                    "  - {name: io psi, detector: system_psi_io, threshold_pct: 25, duration: 30}\n")
    cpu, io = rulesfile.load(str(path))
    assert (cpu["type"], cpu["resource"], cpu["kind"], cpu["threshold"]) == (
        "pressure", "cpu", "some", 0.4)
    assert (cpu["window"], cpu["min_duration"], cpu["severity"]) == ("10s", "15s", "warning")
    assert (io["resource"], io["kind"], io["threshold"], io["min_duration"]) == (
        "io", "full", 0.25, "30s")
