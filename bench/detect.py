"""``python -m bench.detect [--only NAME ...]``: the detection benchmark (``make bench-detect``).

Runs every benign and trouble item of ``bench.corpus`` under the real agent (eBPF receiver,
the shipped rules, a fresh state directory: nothing learned beforehand, so the benign corpus
meets the rules as a newly installed agent would), one agent per item so each alert belongs to
one item, and writes ``detect.json`` and ``detect.md`` to bench/results/. Root: loads BPF.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import corpus
from bench.detect_report import Outcome, summary, table
from otel_linnix.testing.scenario import live_agent, run_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SETTLE_S = 3.0  # time for the last alerts after an item ends (the rules evaluate every 250 ms)


def firing(ctx) -> list[dict]:
    return [{"rule": a.rule, "severity": a.severity, "pid": a.subject.pid, "t": a.first_seen_ns,
             "message": a.message} for a in ctx.alerts.recent() if a.state == "firing"]


def forks(ctx) -> int:
    """Processes the agent saw start on the host while the item ran."""
    return int(ctx.telemetry.get("otel_linnix.process.forks").value())


def run_benign(item: corpus.Benign, state_dir: str) -> Outcome:
    out = Outcome(item.name, "benign")
    with tempfile.TemporaryDirectory(prefix="bench-detect-", dir=_scratch()) as work:
        env = {"PROJECT": str(ROOT), "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
               ":/sbin:/bin", "HOME": work, "LANG": "C.UTF-8"}
        if item.prepare:
            prep = subprocess.run(["bash", "-ec", item.prepare], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=600)
            if prep.returncode:
                out.error = f"prepare failed: {prep.stderr.strip()[-200:]}"
                return out
        with live_agent(state_dir=state_dir) as ctx:
            started = time.monotonic()
            done = subprocess.run(["bash", "-ec", item.script], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=1200)
            out.seconds = time.monotonic() - started
            time.sleep(SETTLE_S)
            out.alerts = firing(ctx)
            out.processes = forks(ctx)
        if done.returncode:
            out.error = f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-200:]}"
    return out


def run_trouble(item: corpus.Trouble, state_dir: str) -> Outcome:
    out = Outcome(item.name, "trouble", rules=item.rules, latency_target_s=item.latency_target_s,
                  latency_from=item.latency_from)
    with live_agent(state_dir=state_dir) as ctx:
        started = time.monotonic()
        pid, events = run_scenario(item.scenario, *item.args, settle=SETTLE_S)
        out.seconds = time.monotonic() - started
        out.alerts = firing(ctx)
        out.processes = forks(ctx)
    onset = events.get("onset", {})
    out.culprit = onset.get("culprit") if item.culprit_from_onset else pid
    out.onset_t = onset.get("t")
    out.failure_t = events.get("failure", {}).get("t")
    if "onset" not in events:
        out.error = "the scenario never started"
    return out


def _scratch() -> str:
    path = ROOT / "build" / "bench-detect"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", default=(), help="item names to run (default: all)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    outcomes = []
    items = [*corpus.BENIGN, *corpus.TROUBLE]
    for item in items:
        if args.only and item.name not in args.only:
            continue
        print(f"bench-detect: {item.name} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="otel-linnix-state-") as state_dir:
            try:
                run = run_benign if isinstance(item, corpus.Benign) else run_trouble
                outcomes.append(run(item, state_dir))
            except Exception as exc:  # one broken item must not lose the others' results
                kind = "benign" if isinstance(item, corpus.Benign) else "trouble"
                outcomes.append(Outcome(item.name, kind, error=f"{type(exc).__name__}: {exc}"))
    text = table(outcomes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detect.md").write_text(text + "\n")
    (out / "detect.json").write_text(json.dumps({"summary": summary(outcomes), "items": [
        asdict(o) for o in outcomes]}, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
