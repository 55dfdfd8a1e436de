"""Smoke test: the quick benchmark runs end to end and reports every figure (not the targets)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import FIGURES, SUBJECTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc, json.loads((out / "latest.json").read_text())


@pytest.mark.bpf
@pytest.mark.slow
def test_every_session_ran(quick_run):
    _, proc, results = quick_run
    for key in (*SUBJECTS, "paired"):
        assert "error" not in results[key], results[key]
    assert results["baseline"] and all("error" not in b for b in results["baseline"])
    assert results["duration_s"] < 120, "the quick mode must stay under 2 minutes"


@pytest.mark.bpf
@pytest.mark.slow
def test_every_figure_is_reported(quick_run):
    _, _, results = quick_run
    summary = results["summary"]
    assert set(summary) == set(FIGURES)
    alert = results["agent"]["alert"]
    for name in FIGURES:
        if name == "alert_latency_s" and summary[name]["agent"] is None:
            assert alert["why_missing"], "a missing alert latency must say why"
            continue
        assert isinstance(summary[name]["agent"], (int, float)), name
    for subject in SUBJECTS:  # each peer measured on the same workloads
        assert 0 <= summary["capture_max"][subject] <= 1.0 + 1e-9, subject
        assert summary["slowdown_exec"][subject] > 0, subject
    assert summary["spawn_rate_max"]["baseline"] > 0


@pytest.mark.bpf
@pytest.mark.slow
def test_table_and_plot_are_written(quick_run):
    out, proc, results = quick_run
    table = (out / "table.md").read_text()
    for label, *_ in FIGURES.values():
        assert label in table
    assert table in proc.stdout
    assert (out / "capture_cpu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    workload = results["agent"]["steps"]["fork_max"]
    assert workload["created"] > 0 and workload["captured"] is not None
