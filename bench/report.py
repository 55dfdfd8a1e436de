"""From raw session results to the figures the issue asks for, a markdown table and a plot.

Targets are reported next to the figures (met / missed), never asserted: the smoke test only
checks that every figure is there.
"""

from __future__ import annotations

from pathlib import Path
from statistics import mean, median

SUBJECTS = ("agent", "proc_scraper", "sdk")
TITLES = {"agent": "otel-linnix", "proc_scraper": "/proc scraper (1 s)",
          "sdk": "OTel SDK per-span"}

#: figure → (label, target text, predicate on the agent's value or None, decimals)
FIGURES = {
    "spawn_rate_max": ("fork storm rate reached (processes/s)", "machine max", None, 0),
    "capture_max": ("capture ratio, fork storm at max rate", "1.000", lambda v: v >= 1.0, 4),
    "capture_1000": ("capture ratio at 1000 processes/s", "1.000", lambda v: v >= 1.0, 4),
    "capture_exec": ("capture ratio, exec storm", "1.000", lambda v: v >= 1.0, 4),
    "cpu_us_per_lifetime": ("CPU per process lifetime at max rate (µs)", "≤ 10",
                            lambda v: v <= 10, 1),
    "cpu_us_at_250": ("CPU per process lifetime at 250/s (µs)", "—", None, 1),
    "cpu_us_at_1000": ("CPU per process lifetime at 1000/s (µs)", "—", None, 1),
    "cpu_us_at_4000": ("CPU per process lifetime at 4000/s (µs)", "—", None, 1),
    "cpu_us_exec": ("CPU per process lifetime, exec storm (µs)", "—", None, 1),
    "saturated_ratio": ("saturated fork storm, one worker per core (rate with / without)",
                        "≥ 0.90", lambda v: v >= 0.90, 3),
    "slowdown_exec": ("slowdown, exec storm (time with / without)", "≤ 1.05",
                      lambda v: v <= 1.05, 3),
    "slowdown_fork": ("slowdown, one-worker fork storm (rate without / with)", "—", None, 3),
    "slowdown_build": ("slowdown, make -j<cores> build (time with / without)", "≤ 1.03",
                       lambda v: v <= 1.03, 3),
    "cpu_share_exec": ("agent CPU during the exec storm, % of the storm's own CPU", "—", None, 2),
    "cpu_share_build": ("agent CPU during a make -j<cores> build, % of the build's own CPU", "—",
                        None, 2),
    "bpf_ns_fork": ("kernel: BPF ns per fork", "—", None, 0),
    "bpf_ns_exec": ("kernel: BPF ns per exec", "—", None, 0),
    "bpf_ns_exit": ("kernel: BPF ns per exit", "—", None, 0),
    "idle_cpu_pct": ("idle CPU (% of one core)", "≤ 0.5", lambda v: v <= 0.5, 2),
    "idle_cpu_quietest_pct": ("idle CPU, quietest 2 s of the idle period (%)", "≤ 0.5",
                              lambda v: v <= 0.5, 2),
    "idle_host_rate": ("host processes/s during the idle period (other work)", "—", None, 0),
    "idle_rss_mb": ("idle RSS (MB)", "≤ 60", lambda v: v <= 60, 1),
    "idle_pss_mb": ("idle PSS (MB)", "—", None, 1),
    "alert_latency_s": ("fork-storm alert after onset (s): rate far beyond normal", "≤ 5",
                        lambda v: v <= 5, 2),
    "export_p50_s": ("export latency p50 at 1000/s (s)", "—", None, 4),
    "export_p99_s": ("export latency p99 at 1000/s (s)", "≤ 2", lambda v: v <= 2, 4),
    "lost_dropped": ("events lost + records dropped (agent counters)", "0", lambda v: v == 0, 0),
    "spans_per_request": ("spans per OTLP export request (whole run)", "—", None, 1),
    "build_spans": ("spans of one make -j<cores> build's processes", "—", None, 0),
}

def _step(results: dict, subject: str, name: str) -> dict:
    return results.get(subject, {}).get("steps", {}).get(name, {})


def _baseline(results: dict, key: str) -> float | None:
    values = [b[key] for b in results.get("baseline", []) if b.get(key)]
    return mean(values) if values else None


def _div(a, b):
    return a / b if a is not None and b else None


def _counter(counters: dict | None, word: str) -> float | None:
    values = [v for k, v in (counters or {}).items() if word in k]
    return sum(values) if values else None


def summarize(results: dict) -> dict:
    """Per figure, per subject ("baseline" too where it has one): the value or None."""
    base_exec, base_rate = _baseline(results, "exec_s"), _baseline(results, "fork_max_rate")
    out: dict[str, dict] = {name: {} for name in FIGURES}
    out["spawn_rate_max"]["baseline"] = base_rate
    for s in SUBJECTS:
        fork, exec_ = _step(results, s, "fork_max"), _step(results, s, "exec")
        at_1000 = _step(results, s, "fork@1000")
        idle = results.get(s, {}).get("idle", {})
        out["spawn_rate_max"][s] = fork.get("rate")
        out["capture_max"][s] = fork.get("capture_ratio")
        out["capture_1000"][s] = at_1000.get("capture_ratio")
        out["capture_exec"][s] = exec_.get("capture_ratio")
        out["cpu_us_per_lifetime"][s] = fork.get("cpu_us_per_lifetime")
        for rate in (250, 1000, 4000):
            out[f"cpu_us_at_{rate}"][s] = _step(results, s, f"fork@{rate}").get(
                "cpu_us_per_lifetime")
        out["cpu_us_exec"][s] = exec_.get("cpu_us_per_lifetime")
        out["idle_pss_mb"][s] = idle.get("pss_mb")
        out["slowdown_exec"][s] = _div(exec_.get("seconds"), base_exec)
        out["slowdown_fork"][s] = _div(base_rate, fork.get("rate"))
        out["idle_cpu_pct"][s] = idle.get("cpu_pct_of_core")
        out["idle_cpu_quietest_pct"][s] = idle.get("cpu_pct_quietest_window")
        out["idle_host_rate"][s] = idle.get("host_processes_per_s")
        out["idle_rss_mb"][s] = idle.get("rss_mb")
        out["export_p50_s"][s] = at_1000.get("export_p50_s") if s != "proc_scraper" else None
        out["export_p99_s"][s] = at_1000.get("export_p99_s") if s != "proc_scraper" else None
    _paired(results.get("paired", {}), out)
    agent = results.get("agent", {})
    for name, ns in (agent.get("bpf_ns_per_run") or {}).items():
        if f"bpf_ns_{name}" in out:
            out[f"bpf_ns_{name}"]["agent"] = ns
    out["build_spans"]["agent"] = _step(results, "agent", "build").get("captured")
    out["alert_latency_s"]["agent"] = agent.get("alert", {}).get("latency_s")
    counters = agent.get("counters")
    out["spans_per_request"]["agent"] = _div(_counter(counters, "sent_spans"),
                                             _counter(counters, "sent_requests"))
    out["lost_dropped"]["agent"] = sum(v for k, v in counters.items()
                                       if "lost" in k or "dropped" in k) if counters else None
    return {name: {k: (round(v, FIGURES[name][3] + 1) if isinstance(v, float) else v)
                   for k, v in values.items()} for name, values in out.items()}


def _paired(paired: dict, out: dict) -> None:
    """The agent's slowdowns: medians of the interleaved rounds' ratios (bench/paired.py)."""
    ratios = paired.get("ratios", {})
    for figure, key in (("slowdown_exec", "exec"), ("slowdown_build", "build"),
                        ("saturated_ratio", "saturated")):
        out[figure]["agent"] = median(ratios[key]) if ratios.get(key) else None
    for figure in ("cpu_share_exec", "cpu_share_build"):
        shares = ratios.get(figure.replace("cpu_share_", "") + "_cpu_share")
        out[figure]["agent"] = median(shares) * 100 if shares else None
    rates = [r["none"]["sat_rate"] for r in paired.get("rounds", []) if "none" in r]
    out["saturated_ratio"]["baseline"] = median(rates) if rates else None


def paired_spread(results: dict) -> str:
    """The rounds' ratios, each figure's lowest and highest: how far one round is from the
    median the table shows."""
    ratios = results.get("paired", {}).get("ratios", {})
    parts = [f"{key} {min(v):.3f}–{max(v):.3f}" for key, v in ratios.items()
             if v and not key.endswith("_cpu_share")]
    return (f"paired rounds ({len(ratios.get('exec', []))}), with / without each round: "
            + ", ".join(parts)) if parts else ""


def missing(results: dict) -> list[str]:
    """Figures with no agent value, and sessions that failed (with their errors)."""
    gaps = [f"{key}: {results[key]['error']}" for key in (*SUBJECTS, "paired")
            if "error" in results.get(key, {})]
    gaps += [f"baseline: {b['error']}" for b in results.get("baseline", []) if "error" in b]
    gaps += [f"{name}: not measured" for name, values in results["summary"].items()
             if values.get("agent") is None]
    alert = results.get("agent", {}).get("alert", {})
    if alert.get("why_missing"):
        gaps.append(f"alert_latency_s: {alert['why_missing']}")
    return gaps


def _fmt(value, decimals: int) -> str:
    if value is None:
        return "—"
    return f"{value:,.{decimals}f}" if isinstance(value, float) else f"{value:,}"


def table(results: dict) -> str:
    summary = results["summary"]
    head = ["figure", "target", "met", *(TITLES[s] for s in SUBJECTS), "no agent"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, (label, target, ok, dec) in FIGURES.items():
        values = summary.get(name, {})
        agent = values.get("agent")
        met = "—" if ok is None or agent is None else ("yes" if ok(agent) else "**no**")
        cells = [label, target, met, *(_fmt(values.get(s), dec) for s in SUBJECTS),
                 _fmt(values.get("baseline"), dec)]
        lines.append("| " + " | ".join(cells) + " |")
    plan = results["plan"]
    lines.append("")
    lines.append(f"{results['mode']} run, {results['started']}, {results['duration_s']} s, "
                 f"{results['machine']['cores']} cores, kernel {results['machine']['kernel']}, "
                 f"hot path {results.get('hot_path', 'interpreted')}; "
                 f"fork storm at max rate for {plan['fork_max_s']:g} s (agent) / "
                 f"{plan['peer_fork_s']:g} s (peers), exec storm of {plan['exec_n']} processes, "
                 f"make -j<cores> over {plan['build_files']} files, saturated storm "
                 f"{plan['sat_s']:g} s; all signals on, shipped rules except fork_storm's "
                 f"lifecycle: 2 s hold, 5 s cooldown (bench/procs.py). The agent's slowdowns and "
                 f"saturated ratio: the median of {plan['paired_rounds']} rounds, each running "
                 f"the exec storm, the saturated storm and {plan['paired_builds']} builds without "
                 f"the agent and with it (bench/paired.py).")
    spread = paired_spread(results)
    if spread:
        lines.append(spread + ".")
    gaps = missing(results)
    if gaps:
        lines.append("")
        lines.append("Not measured: " + "; ".join(gaps) + ".")
    return "\n".join(lines) + "\n"


def _points(results: dict, subject: str, key: str) -> tuple[list, list]:
    pts = sorted((s["rate"], s[key]) for s in results.get(subject, {}).get("steps", {}).values()
                 if s.get("workload", "").startswith("fork") and s.get("rate")
                 and s.get(key) is not None)
    return [p[0] for p in pts], [p[1] for p in pts]


def plot(results: dict, path: Path) -> None:
    """Capture ratio and CPU per lifetime against the spawn rate actually reached."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for s, marker in zip(SUBJECTS, "os^"):
        x, y = _points(results, s, "capture_ratio")
        left.plot(x, y, marker=marker, label=TITLES[s])
        x, y = _points(results, s, "cpu_us_per_lifetime")
        right.plot(x, y, marker=marker, label=TITLES[s])
    left.axhline(1.0, color="grey", linestyle=":", label="target 1.000")
    right.axhline(10, color="grey", linestyle=":", label="target 10 µs")
    left.set(xlabel="spawn rate (processes/s)", ylabel="capture ratio", ylim=(-0.03, 1.05),
             title="processes captured / created")
    right.set(xlabel="spawn rate (processes/s)", ylabel="µs of CPU per process lifetime",
              title="subject CPU per lifetime", yscale="log")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"otel-linnix bench ({results['mode']}, {results['machine']['cores']} cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
