"""One session per subject: the agent, each peer, and the no-agent baseline, on the workloads.

A session runs workload steps and, around each, reads the subject's CPU time from /proc and
the span count at the sink; the spans themselves are matched to each workload afterwards (from
one dump of the sink), by the workload's process subtree.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench import bpfstats, workloads
from bench.measure import percentile, pss_bytes, ratio, subtree
from bench.procs import Agent, Child, Peer, Sink
from bench.workloads import Run


class Step:
    """A workload run under a subject: the run, the subject's CPU seconds and spans exported."""

    def __init__(self, run: Run, cpu_s: float, lifetimes: int | None) -> None:
        self.run, self.cpu_s, self.lifetimes = run, cpu_s, lifetimes

    def figures(self, span_rows: list | None = None) -> dict:
        run = self.run
        out = {"workload": run.name, "seconds": round(run.seconds, 3), "created": run.created,
               "rate": round(run.rate, 1) if run.rate else None, "cpu_s": round(self.cpu_s, 3),
               "lifetimes_exported": self.lifetimes}
        if self.lifetimes:
            out["cpu_us_per_lifetime"] = round(self.cpu_s / self.lifetimes * 1e6, 2)
        if span_rows is not None:
            mine = subtree(span_rows, run.pid, run.start_ns, run.end_ns)
            lat = [(row[4] - row[3]) / 1e9 for row in mine if len(row) > 4]
            out.update(captured=len(mine), capture_ratio=ratio(len(mine), run.created),
                       export_p50_s=_round(percentile(lat, 50)),
                       export_p99_s=_round(percentile(lat, 99)))
        return out


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def step(subject: Child | None, sink: Sink | None, fn, settle_timeout: float) -> Step:
    if sink:
        sink.settle(timeout=settle_timeout)
    spans0 = sink.spans() if sink else None
    cpu0 = subject.cpu() if subject else 0.0
    run = fn()
    spans1 = sink.settle(spans0, run.created or 0, timeout=settle_timeout) if sink else None
    cpu1 = subject.cpu() if subject else 0.0
    return Step(run, cpu1 - cpu0, spans1 - spans0 if sink else None)


def idle(subject: Child, seconds: float, sink: Sink | None = None, window_s: float = 2.0) -> dict:
    """Mean CPU over the idle period, the quietest ``window_s`` in it, RSS at its end.

    The host is shared: other work keeps making processes the agent must handle, so the host's
    process rate during the period is reported too (from the spans the sink received).
    """
    spans0 = sink.spans() if sink else None
    windows, cpu0, start = [], subject.cpu(), time.time_ns()
    while (time.time_ns() - start) / 1e9 < seconds - window_s / 2:
        before = subject.cpu()
        time.sleep(window_s)
        windows.append(subject.cpu() - before)
    elapsed = (time.time_ns() - start) / 1e9
    out = {"seconds": round(elapsed, 2),
           "cpu_pct_of_core": round((subject.cpu() - cpu0) / elapsed * 100, 3),
           "cpu_pct_quietest_window": round(min(windows) / window_s * 100, 3),
           "rss_mb": round(subject.rss() / 2**20, 1), "pss_mb": round(pss_bytes(subject.pid) / 2**20, 1)}
    if sink:
        out["host_processes_per_s"] = round((sink.spans() - spans0) / elapsed, 1)
    return out


def fork_storm_alert(logs: list, onset_ns: int, agent_start_ns: int) -> dict:
    """Onset of the storm → first ``fork_storm`` firing log record received at the sink."""
    firing = sorted(row[3] for row in logs if row[0] == "fork_storm" and row[1] == "firing")
    after = [t for t in firing if t >= onset_ns]
    before = [t for t in firing if agent_start_ns <= t < onset_ns]
    out = {"onset_ns": onset_ns, "latency_s": round((after[0] - onset_ns) / 1e9, 3)
           if after else None, "fired_before_onset": len(before)}
    if not after:
        out["why_missing"] = ("fired before the storm (other load on the host; cooldown)"
                              if before else "no fork_storm alert arrived at the receiver")
    return out


def storms(subject: Child, sink: Sink | None, helper: Path, plan, fork_s: float,
           rates: tuple) -> dict[str, Step]:
    """The storms every subject runs: max rate for ``fork_s``, each of ``rates``, exec."""
    t = plan.settle_s
    steps = {"fork_max": step(subject, sink, lambda: workloads.fork_storm(helper, fork_s), t)}
    for rate in rates:
        steps[f"fork@{rate}"] = step(
            subject, sink, lambda r=rate: workloads.fork_storm(helper, plan.sweep_s, r), t)
    steps["exec"] = step(subject, sink, lambda: workloads.exec_storm(helper, plan.exec_n), t)
    return steps


def build(subject: Child, sink: Sink, tree: Path, plan) -> Step:
    """One clean ``make -j<cores>``: its spans (its slowdown is the paired rounds')."""
    return step(subject, sink, lambda: workloads.build(tree, os.cpu_count() or 2), plan.settle_s)


_COUNTERS = ("lost", "dropped", "fail", "error", "evicted", "sent", "rescued")


def agent_session(wd: Path, helper: Path, plan) -> dict:
    """The real agent, exporting OTLP gRPC to the sink in a separate process."""
    with Sink(wd) as sink:
        with Agent(wd, sink.port) as agent:
            started = time.time_ns()
            ours = bpfstats.agent_programs(agent.log_path.read_text())
            time.sleep(plan.warmup_s)
            idle_fig = idle(agent, plan.idle_s, sink)
            steps = storms(agent, sink, helper, plan, plan.fork_max_s, plan.sweep_rates)
            bpf_ns = _bpf_cost(ours, lambda: workloads.exec_storm(helper, plan.exec_n))
            tree = workloads.make_build_tree(wd, plan.build_files)
            steps["build"] = build(agent, sink, tree, plan)
            counters = agent.counters()
            peak_rss = agent.rss()
            profile = _profile(agent, wd, helper, plan) if plan.profile else None
        data = sink.dump(wd / "agent-spans.json")
    spans = data["spans"]
    return {"profile": profile, "idle": idle_fig, "peak_rss_mb": round(peak_rss / 2**20, 1),
            "bpf_ns_per_run": bpf_ns,
            "steps": {k: s.figures(spans) for k, s in steps.items()},
            "alert": fork_storm_alert(data["logs"], steps["fork_max"].run.start_ns, started),
            "counters": {k: v for k, v in counters.items() if any(w in k for w in _COUNTERS)}}


def _bpf_cost(ours: dict[int, str], workload) -> dict[str, float]:
    """ns per run of each of the agent's BPF programs over ``workload`` (an exec storm runs
    all three: fork, exec, exit), with the kernel's run-time accounting on only meanwhile."""
    if not ours:
        return {}
    with bpfstats.stats_enabled():
        before = bpfstats.snapshot(ours)
        workload()
        return bpfstats.ns_per_run(before, bpfstats.snapshot(ours))


def _profile(agent: Agent, wd: Path, helper: Path, plan) -> str:
    """py-spy over one more (unmeasured) fork storm at the maximum rate."""
    from bench import profile

    raw = wd / "agent-profile.raw"
    sampler = profile.record(agent.pid, plan.profile_s, raw)
    time.sleep(0.5)
    workloads.fork_storm(helper, plan.profile_s)
    sampler.wait(plan.profile_s + 30)
    return profile.fold(raw) if raw.exists() else "py-spy wrote no samples\n"


def sdk_session(wd: Path, helper: Path, plan) -> dict:
    """The same eBPF receiver, spans made and exported by the OpenTelemetry SDK."""
    with Sink(wd) as sink:
        with Peer("sdk_agent", wd, f"127.0.0.1:{sink.port}") as peer:
            time.sleep(plan.warmup_s)
            idle_fig = idle(peer, plan.peer_idle_s, sink)
            steps = storms(peer, sink, helper, plan, plan.peer_fork_s, plan.peer_rates)
        spans = sink.dump(wd / "sdk-spans.json")["spans"]
    return {"idle": idle_fig, "steps": {k: s.figures(spans) for k, s in steps.items()}}


def scraper_session(wd: Path, helper: Path, plan) -> dict:
    """A /proc poller at 1 s: what it saw of each workload's processes."""
    out_file = wd / "scraper-seen.json"
    with Peer("proc_scraper", wd, str(out_file), "1.0") as peer:
        idle_fig = idle(peer, plan.peer_idle_s)
        steps = storms(peer, None, helper, plan, plan.peer_fork_s, plan.peer_rates)
    seen = json.loads(out_file.read_text())
    figures = {}
    for name, s in steps.items():
        fig = s.figures(seen)
        del fig["export_p50_s"], fig["export_p99_s"]  # a poller exports nothing per process
        fig["cpu_us_per_lifetime"] = round(s.cpu_s / s.run.created * 1e6, 2) \
            if s.run.created else None
        figures[name] = fig
    return {"idle": idle_fig, "steps": figures}


def baseline_session(wd: Path, helper: Path, plan) -> dict:
    """No agent: the workloads' own times, run between the subjects' sessions (what the
    peers' slowdowns are taken against)."""
    return {"exec_s": workloads.exec_storm(helper, plan.exec_n).seconds,
            "fork_max_rate": workloads.fork_storm(helper, plan.baseline_fork_s).rate}
