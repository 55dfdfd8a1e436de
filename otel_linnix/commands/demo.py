"""``otel-linnix demo NAME``: the agent (eBPF → rules → console) plus one bounded scenario,
showing the alerts as they fire and how far ahead of the failure they came."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from importlib import resources

from otel_linnix.commands.run import fail
from otel_linnix.config import ConfigError, build
from otel_linnix.service import Service, ServiceError

SCENARIOS = ("fork_bomb", "memory_leak", "fd_exhaustion", "cpu_spin", "oom_kill",
             "cpu_contention")
PIPELINE = {
    "receivers": {"ebpf_process": {"sample_interval": "500ms"}},
    "processors": {"rules": {}},
    "exporters": {"debug": {"verbosity": "basic", "summary_interval": "1h"}},
    "service": {"pipelines": {"logs": {"receivers": ["ebpf_process"], "processors": ["rules"],
                                       "exporters": ["debug"]}}},
}


def register(sub) -> None:
    p = sub.add_parser("demo", help="run a bounded demo scenario under the agent")
    p.add_argument("name", choices=SCENARIOS)
    p.add_argument("--seconds", type=float, default=20, help="scenario duration")
    p.set_defaults(func=demo)


def scenario_path(name: str) -> str:
    return str(resources.files("otel_linnix.data").joinpath("scenarios", f"{name}.py"))


def demo(args) -> int:
    try:
        service = Service(build(PIPELINE))
        service.start()
    except (ConfigError, ServiceError) as exc:
        return fail(str(exc))
    try:
        proc = subprocess.Popen([sys.executable, scenario_path(args.name), "--seconds",
                                 str(args.seconds)], stdout=subprocess.PIPE, text=True)
        events = {}
        for line in proc.stdout:
            event = json.loads(line)
            events[event["event"]] = event["t"]
            print(f"scenario: {line.strip()}", flush=True)
        proc.wait()
        threading.Event().wait(2)  # let the last samples and alerts through
    finally:
        service.shutdown()
    alerts = [a for a in service.context.alerts.recent() if a.state == "firing"]
    failure = events.get("failure")
    for alert in alerts:
        if failure:
            ahead = (failure - alert.first_seen_ns) / 1e9
            lead = f"{ahead:.1f}s before the failure" if ahead >= 0 \
                else f"{-ahead:.2f}s after the failure"
        else:
            lead = f"{(alert.first_seen_ns - events.get('onset', 0)) / 1e9:.1f}s after onset"
        print(f"alert {alert.rule}: {alert.message} ({lead})")
    if not alerts:
        print("no alert fired")
    return 0
