"""``python -m bench.run [--quick] [--out DIR]``: the whole benchmark, one command.

Order: baseline, agent, paired rounds, baseline, /proc scraper, SDK peer, baseline — no-agent
baselines between the subjects so a noisy neighbour on this shared machine weighs on both sides;
the agent's slowdowns come from the paired rounds (bench/paired.py), where that weighs less. Writes
``latest.json``, ``table.md`` and ``capture_cpu.png`` to DIR and prints the table. A part that
fails is recorded with its error and the rest still runs: the report says what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import paired, report, sessions, workloads
from otel_linnix import compiled

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    fork_max_s: float = 30.0          # the capture target's duration
    sweep_rates: tuple = (250, 1000, 4000)
    sweep_s: float = 5.0
    exec_n: int = 5000
    build_files: int = 150
    sat_s: float = 10.0               # the saturated storm (one fork worker per core)
    # Interleaved no-agent / agent rounds (bench/paired.py). A 1.4 s build's rounds scatter by
    # sd ~0.05 here: five rounds of two builds put the median anywhere from 0.96 to 1.06.
    paired_rounds: int = 9
    paired_builds: int = 3            # builds per arm of a round (their mean)
    idle_s: float = 10.0
    warmup_s: float = 2.0
    settle_s: float = 30.0
    peer_fork_s: float = 10.0
    peer_rates: tuple = (1000,)
    peer_idle_s: float = 5.0
    baseline_fork_s: float = 5.0
    baselines: int = 3
    profile: bool = False             # py-spy the agent during one extra fork storm
    profile_s: float = 5.0
    skip: tuple = field(default_factory=tuple)


FULL = Plan()
QUICK = Plan(fork_max_s=5.0, sweep_rates=(250, 1000, 4000), sweep_s=2.0, exec_n=1000, build_files=20,
             sat_s=3.0, paired_rounds=1, paired_builds=1,
             idle_s=3.0, warmup_s=1.0, settle_s=10.0, peer_fork_s=3.0, peer_idle_s=2.0,
             baseline_fork_s=2.0, baselines=2)


def _guarded(results: dict, key: str, fn, *args) -> None:
    """Run one session; on failure record why, so the report can say what is missing."""
    t0 = time.monotonic()
    try:
        results[key] = fn(*args)
    except Exception as exc:  # a broken part must not hide the others' figures
        traceback.print_exc()
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}
    print(f"bench: {key} done in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)


def run(plan: Plan, quick: bool) -> dict:
    t0 = time.monotonic()
    results: dict = {"mode": "quick" if quick else "full", "plan": asdict(plan),
                     "machine": {"cores": os.cpu_count(), "kernel": platform.release(),
                                 "pid_max": int(Path("/proc/sys/kernel/pid_max").read_text())},
                     "hot_path": "compiled" if compiled.active() else "interpreted",
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "baseline": []}
    with tempfile.TemporaryDirectory(prefix="otel-linnix-bench-") as tmp:
        wd = Path(tmp)
        helper = workloads.compile_helper(wd)
        sessions_by_key = {"agent": sessions.agent_session,
                           "proc_scraper": sessions.scraper_session, "sdk": sessions.sdk_session,
                           "paired": paired.paired_session}
        schedule = ["baseline", "agent", "paired", "baseline", "proc_scraper", "sdk", "baseline"]
        for key in schedule[:len(schedule) if plan.baselines > 2 else -1]:
            if key == "baseline":
                base: dict = {}
                _guarded(base, "baseline", sessions.baseline_session, wd, helper, plan)
                results["baseline"].append(base["baseline"])
            elif key not in plan.skip:
                _guarded(results, key, sessions_by_key[key], wd, helper, plan)
    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["summary"] = report.summarize(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short smoke run (< 2 min)")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results, "
                                                  "bench/results/quick with --quick)")
    parser.add_argument("--profile", action="store_true",
                        help="also py-spy the agent in an extra fork storm (agent-profile.txt)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["agent", "paired", "proc_scraper", "sdk"],
                        help="leave a session out")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: needs root (the agent and the SDK peer load BPF programs)", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    plan = Plan(**{**asdict(plan), "skip": tuple(args.skip), "profile": args.profile})
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    results = run(plan, args.quick)
    out.mkdir(parents=True, exist_ok=True)
    profile = results.get("agent", {}).pop("profile", None)
    if profile:
        (out / "agent-profile.txt").write_text(profile)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.table(results)
    (out / "table.md").write_text(table)
    report.plot(results, out / "capture_cpu.png")
    print(table)
    print(f"bench: {results['duration_s']}s; results in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
