"""Run a scenario from scenarios/ under the real agent (eBPF → rules) and collect what happened."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from otel_linnix.config import build
from otel_linnix.service import Service
from otel_linnix.testing.sinks import test_context

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@contextmanager
def live_agent(rules_file: str = "", sample_interval: str = "500ms", state_dir: str = "",
               otlp_port: int = 0):
    """The real agent in this process: eBPF receiver → rules → debug (and, with ``otlp_port``,
    spans and logs to that OTLP gRPC receiver). Learned baselines go to ``state_dir``
    (default: a temporary directory removed afterwards, never the machine's own state)."""
    with tempfile.TemporaryDirectory(prefix="otel-linnix-state-") as scratch:
        exporters: dict[str, Any] = {"debug": {"verbosity": "basic", "summary_interval": "1h"}}
        if otlp_port:
            exporters["otlp"] = {"endpoint": f"127.0.0.1:{otlp_port}",
                                 "tls": {"insecure": True}, "spool": {"enabled": False},
                                 "batch": {"timeout": "50ms"}}
        pipeline = {"receivers": ["ebpf_process"], "processors": ["rules"],
                    "exporters": list(exporters)}
        raw = {"receivers": {"ebpf_process": {"sample_interval": sample_interval}},
               "processors": {"rules": {"rules_file": rules_file,
                                        "state_dir": state_dir or scratch}},
               "exporters": exporters,
               "service": {"pipelines": {"logs": pipeline, **({"traces": pipeline}
                                                             if otlp_port else {})}}}
        service = Service(build(raw), test_context())
        service.start()
        try:
            yield service.context
        finally:
            service.shutdown(5)


def run_scenario(name: str, *args: str, settle: float = 2.0) -> tuple[int, dict[str, dict]]:
    """Run ``scenarios/NAME.py``; returns (its pid, its events by name)."""
    proc = subprocess.Popen([sys.executable, str(SCENARIOS / f"{name}.py"), *args],
                            stdout=subprocess.PIPE, text=True, cwd=SCENARIOS)
    events: dict[str, dict] = {}
    for line in proc.stdout or ():
        event = json.loads(line)
        events.setdefault(event["event"], event)
    proc.wait(120)
    time.sleep(settle)
    return proc.pid, events


def firing(ctx, rule: str, pid: int | None = None) -> list:
    return [a for a in ctx.alerts.recent() if a.rule == rule and a.state == "firing"
            and (pid is None or a.subject.pid == pid)]
