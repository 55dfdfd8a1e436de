"""What the agent costs the work beside it: the workloads without the agent and with it, in
interleaved rounds.

This machine's speed drifts by a tenth within minutes, so a slowdown taken from a baseline
session minutes away from the agent's measures the drift as much as the agent. Here each round
runs the same workloads twice, once without the agent and once with it started afresh (all
signals on, exporting to the sink), the order alternating from round to round; a figure is the
median of the rounds' ratios, and the report shows their spread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from statistics import mean

from bench import workloads
from bench.procs import Agent, Sink


def paired_session(wd: Path, helper: Path, plan) -> dict:
    tree = workloads.make_build_tree(wd, plan.build_files)
    rounds = []
    for i in range(plan.paired_rounds):
        order = (False, True) if i % 2 == 0 else (True, False)
        rounds.append({"agent" if on else "none": _arm(wd, helper, tree, plan, on)
                       for on in order})
    return {"rounds": rounds, "ratios": ratios(rounds)}


def _arm(wd: Path, helper: Path, tree: Path, plan, with_agent: bool) -> dict:
    if not with_agent:
        return _workloads(helper, tree, plan, lambda: None)
    with Sink(wd) as sink, Agent(wd, sink.port):
        time.sleep(plan.warmup_s)
        # the agent exports what a workload made before the next one starts, as it would
        # between the storms of the agent's own session
        return _workloads(helper, tree, plan, lambda: sink.settle(timeout=plan.settle_s))


def _workloads(helper: Path, tree: Path, plan, settle) -> dict:
    cores = os.cpu_count() or 1
    exec_s = workloads.exec_storm(helper, plan.exec_n).seconds
    settle()
    sat = workloads.fork_storm_saturated(helper, plan.sat_s, cores)
    settle()
    builds = []
    for _ in range(plan.paired_builds):
        builds.append(workloads.build(tree, cores).seconds)
        settle()
    return {"exec_s": round(exec_s, 3), "sat_rate": round(sat.rate or 0.0, 1),
            "build_s": round(mean(builds), 3)}


def ratios(rounds: list[dict]) -> dict[str, list[float]]:
    """Per figure, each round's agent / none ratio, oriented so that > 1 is a slowdown for
    times and < 1 a loss for the saturated storm's rate (as the targets are written)."""
    out: dict[str, list[float]] = {"exec": [], "build": [], "saturated": []}
    for r in rounds:
        none, agent = r.get("none"), r.get("agent")
        if not none or not agent:
            continue
        out["exec"].append(round(agent["exec_s"] / none["exec_s"], 4))
        out["build"].append(round(agent["build_s"] / none["build_s"], 4))
        if none["sat_rate"]:
            out["saturated"].append(round(agent["sat_rate"] / none["sat_rate"], 4))
    return out
