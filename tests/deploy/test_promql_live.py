"""Every dashboard PromQL expression against a real agent scraped by a real Prometheus.

The real ``otel-linnix run`` (eBPF receiver, rules, OTLP exporter to an in-process OTLP server,
Prometheus endpoint) runs while a small workload forks, execs and exits; a real Prometheus
scrapes it every second. Each expression must parse and return data. Needs root and BPF.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from otel_linnix.testing.cli import start_cli
from otel_linnix.testing.otlp_server import OTLPServer, free_port
from otel_linnix.testing.prometheus_server import (
    prometheus_server,
    prometheus_unavailable_reason,
    stop_process,
)
from otel_linnix.testing.readiness import wait_until_ok

from .conftest import GRAFANA
from .promql import dashboard_variables, expand_variables, prometheus_targets

pytestmark = [pytest.mark.bpf, pytest.mark.slow,
              pytest.mark.skipif(prometheus_unavailable_reason() is not None,
                                 reason=prometheus_unavailable_reason() or "")]


def agent_pipeline(prom_port: int, otlp_port: int, spool: str) -> dict:
    return {
        "receivers": {"ebpf_process": {"sample_interval": "1s", "sample_top_n": 10}},
        "processors": {"rules": {}},
        "exporters": {
            "otlp": {"endpoint": f"127.0.0.1:{otlp_port}", "tls": {"insecure": True},
                     "spool": {"enabled": True, "directory": spool}},
            "prometheus": {"endpoint": f"127.0.0.1:{prom_port}", "top_n": 5},
        },
        "service": {"pipelines": {
            "traces": {"receivers": ["ebpf_process"], "processors": ["rules"],
                       "exporters": ["otlp"]},
            "metrics": {"receivers": ["ebpf_process"], "exporters": ["otlp", "prometheus"]},
            "logs": {"receivers": ["ebpf_process"], "processors": ["rules"],
                     "exporters": ["otlp"]},
        }},
    }


def wait_for_endpoint(url: str, agent: subprocess.Popen, timeout: float = 120.0) -> None:
    wait_until_ok(url, agent, "agent", timeout, detail=lambda: agent.stderr.read()[-2000:],
                  interval=0.5)


def workload(rounds: int = 3) -> None:
    """Short-lived processes: forks, execs, exits, non-zero exits and a kill."""
    for _ in range(rounds):
        subprocess.run([sys.executable, "-m", "otel_linnix.testing.spawner", "20"],
                       capture_output=True, timeout=60, check=True)
        time.sleep(1)


def dashboard_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        variables = dashboard_variables(path)
        out += [(f"{path.name}: {title}", expand_variables(t["expr"], variables))
                for title, _, t in prometheus_targets(path)]
    return out


def test_every_dashboard_expression_parses_and_returns_data(tmp_path):
    queries = dashboard_queries()
    assert queries
    otlp = OTLPServer()
    otlp_port = otlp.start_grpc()
    prom_port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(agent_pipeline(prom_port, otlp_port, str(tmp_path / "spool"))))
    agent = start_cli("run", "--config", str(config))
    try:
        wait_for_endpoint(f"http://127.0.0.1:{prom_port}/metrics", agent)
        with prometheus_server({"otel-linnix": [f"127.0.0.1:{prom_port}"]}) as prom:
            # Prometheus scrapes a new target only after its discovery delay (~5-10 s): a
            # workload finished before the first scrape would leave every rate() at zero
            assert prom.wait_for("up == 1", timeout=60)
            workload()
            assert prom.wait_for("rate(otel_linnix_process_exits_total[1m]) > 0", timeout=60)
            deadline = time.monotonic() + 60
            pending = list(queries)
            while pending and time.monotonic() < deadline:
                still = []
                for name, expr in pending:
                    result = prom.query(expr)  # raises with Prometheus's message if it cannot parse
                    if not result:
                        still.append((name, expr))
                pending = still
                if pending:
                    workload(1)
            missing = {name: expr for name, expr in pending}
            assert not missing, f"expressions without data: {missing}"
    finally:
        stop_process(agent, timeout=30)
        otlp.stop()
