"""What the agent costs the work beside it: the workloads without the agent and with it, in
interleaved rounds.

This machine's speed drifts by a tenth within minutes, so a slowdown taken from a baseline
session minutes away from the agent's measures the drift as much as the agent. Here each round
runs the same workloads twice, once without the agent and once with it started afresh (all
signals on, exporting to the sink), the order alternating from round to round; a figure is the
median of the rounds' ratios, and the report shows their spread. Beside them, the agent's CPU
during each workload as a share of the workload's own CPU: the slowdown's cause, measured
without the drift.
"""

from __future__ import annotations

import os
import resource
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
        return _workloads(helper, tree, plan, None)
    with Sink(wd) as sink, Agent(wd, sink.port) as agent:
        time.sleep(plan.warmup_s)
        return _workloads(helper, tree, plan, (agent, sink))


def _workloads(helper: Path, tree: Path, plan, subject) -> dict:
    """Each workload's own figure and, with the agent, the agent's CPU seconds for it
    (exporting what it made included: the next one starts once the sink has it all)."""
    cores = os.cpu_count() or 1
    exec_run, exec_cpu = _measured(lambda: workloads.exec_storm(helper, plan.exec_n), subject,
                                   plan)
    sat, _ = _measured(lambda: workloads.fork_storm_saturated(helper, plan.sat_s, cores),
                       subject, plan)
    builds = [_measured(lambda: workloads.build(tree, cores), subject, plan)
              for _ in range(plan.paired_builds)]
    out = {"exec_s": round(exec_run.seconds, 3), "sat_rate": round(sat.rate or 0.0, 1),
           "build_s": round(mean(run.seconds for run, _ in builds), 3)}
    if subject is not None:
        out["exec_agent_cpu_s"] = exec_cpu[0]
        out["build_agent_cpu_s"] = round(mean(cpu[0] for _, cpu in builds), 4)
    out["exec_work_cpu_s"] = exec_cpu[1]
    out["build_work_cpu_s"] = round(mean(cpu[1] for _, cpu in builds), 4)
    return out


def _measured(workload, subject, plan):
    """(the run, (agent CPU s, the workload's own CPU s: its reaped processes'))."""
    agent, sink = subject or (None, None)
    work0, agent0 = _children_cpu(), agent.cpu() if agent else 0.0
    run = workload()
    work = _children_cpu() - work0
    if sink is not None:
        sink.settle(timeout=plan.settle_s)
    return run, (round(agent.cpu() - agent0, 4) if agent else None, round(work, 4))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ratios(rounds: list[dict]) -> dict[str, list[float]]:
    """Per figure, each round's agent / none ratio, oriented so that > 1 is a slowdown for
    times and < 1 a loss for the saturated storm's rate (as the targets are written); and the
    agent's CPU as a share of the workload's own, a figure the machine's drift barely moves."""
    out: dict[str, list[float]] = {"exec": [], "build": [], "saturated": [],
                                   "exec_cpu_share": [], "build_cpu_share": []}
    for r in rounds:
        none, agent = r.get("none"), r.get("agent")
        if agent and agent.get("exec_work_cpu_s"):
            out["exec_cpu_share"].append(round(agent["exec_agent_cpu_s"]
                                               / agent["exec_work_cpu_s"], 4))
        if agent and agent.get("build_work_cpu_s"):
            out["build_cpu_share"].append(round(agent["build_agent_cpu_s"]
                                                / agent["build_work_cpu_s"], 4))
        if not none or not agent:
            continue
        out["exec"].append(round(agent["exec_s"] / none["exec_s"], 4))
        out["build"].append(round(agent["build_s"] / none["build_s"], 4))
        if none["sat_rate"]:
            out["saturated"].append(round(agent["sat_rate"] / none["sat_rate"], 4))
    return out
