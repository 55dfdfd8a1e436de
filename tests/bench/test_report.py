"""Figures from raw results: every figure present, targets judged, missing parts explained."""

from __future__ import annotations

from bench.paired import ratios
from bench.report import FIGURES, SUBJECTS, missing, paired_spread, plot, summarize, table


def _results(agent_cpu_us: float) -> dict:
    step = {"workload": "fork@max", "rate": 4000.0, "seconds": 2.0, "capture_ratio": 1.0,
            "cpu_us_per_lifetime": agent_cpu_us, "export_p50_s": 0.01, "export_p99_s": 0.1}
    steps = {"fork_max": step, "fork@1000": {**step, "workload": "fork@1000/s", "rate": 1000.0},
             "exec": {**step, "workload": "exec", "seconds": 3.0},
             "build": {"workload": "build", "seconds": 1.1, "captured": 30}}
    rounds = [{"none": {"exec_s": 2.0, "sat_rate": 8000.0, "build_s": 1.0},
               "agent": {"exec_s": 2.1, "sat_rate": 7200.0, "build_s": 1.1,
                         "exec_agent_cpu_s": 0.1, "exec_work_cpu_s": 2.0,
                         "build_agent_cpu_s": 0.05, "build_work_cpu_s": 2.5}},
              {"agent": {"exec_s": 3.0, "sat_rate": 4000.0, "build_s": 2.0},
               "none": {"exec_s": 2.0, "sat_rate": 8000.0, "build_s": 1.0}},
              {"none": {"exec_s": 2.2, "sat_rate": 9000.0, "build_s": 1.2},
               "agent": {"exec_s": 2.2, "sat_rate": 8800.0, "build_s": 1.2}},
              {"none": {"exec_s": 2.0, "sat_rate": 9000.0, "build_s": 1.0}}]  # agent arm failed
    return {"mode": "quick", "started": "now", "duration_s": 1.0,
            "machine": {"cores": 2, "kernel": "k"},
            "plan": {"fork_max_s": 2, "peer_fork_s": 2, "exec_n": 10, "build_files": 2,
                     "sat_s": 2, "paired_rounds": 4, "paired_builds": 1},
            "baseline": [{"exec_s": 2.0, "fork_max_rate": 8000.0},
                         {"error": "RuntimeError: boom"}],
            "paired": {"rounds": rounds, "ratios": ratios(rounds)},
            "agent": {"steps": steps, "idle": {"cpu_pct_of_core": 0.5, "rss_mb": 50.0},
                      "bpf_ns_per_run": {"exec": 900.0},
                      "alert": {"latency_s": None, "why_missing": "no alert"},
                      "counters": {"otel_linnix_receiver_lost_total": 2.0,
                                   "otel_linnix_exporter_sent_spans_total": 30.0,
                                   "otel_linnix_exporter_sent_requests_total": 3.0}},
            "proc_scraper": {"error": "RuntimeError: scraper"}, "sdk": {"steps": steps}}


def test_summary_has_every_figure_and_derived_values():
    results = _results(15.0)
    summary = summarize(results)
    assert set(summary) == set(FIGURES)
    assert summary["slowdown_fork"]["agent"] == 2.0
    assert summary["spans_per_request"]["agent"] == 10.0
    assert summary["lost_dropped"]["agent"] == 2.0
    assert summary["capture_max"]["proc_scraper"] is None
    # the paired rounds' medians: one slow round is noise, a round missing an arm is no round
    assert summary["saturated_ratio"]["agent"] == 0.9
    assert summary["saturated_ratio"]["baseline"] == 8500.0  # every no-agent arm
    assert summary["slowdown_build"]["agent"] == 1.1
    assert summary["slowdown_exec"]["agent"] == 1.05
    assert summary["slowdown_exec"]["sdk"] == 1.5, "peers: against the baseline sessions"
    assert (summary["cpu_share_exec"]["agent"], summary["cpu_share_build"]["agent"]) == (5.0, 2.0)
    assert summary["bpf_ns_exec"]["agent"] == 900.0


def test_table_judges_targets_and_says_what_is_missing(tmp_path):
    for cpu, verdict in ((8.0, "yes"), (15.0, "**no**")):
        results = _results(cpu)
        results["summary"] = summarize(results)
        text = table(results)
        row = next(line for line in text.splitlines()
                   if line.startswith("| " + FIGURES["cpu_us_per_lifetime"][0]))
        assert row.split(" | ")[2] == verdict
    gaps = missing(results)
    assert any("proc_scraper: RuntimeError: scraper" in g for g in gaps)
    assert any("baseline: RuntimeError: boom" in g for g in gaps)
    assert any(g.startswith("alert_latency_s") for g in gaps)
    assert len(text.splitlines()[0].split("|")) == len(SUBJECTS) + 6
    assert paired_spread(results) in text and "saturated 0.500–0.978" in paired_spread(results)
    plot(results, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
