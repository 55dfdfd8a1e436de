"""Linnix's own shipped linnix.toml, through the command line: ``validate`` prints a warning per
setting with no equivalent and exits 0; ``run`` starts the agent on it (real BPF) and serves
its API and Prometheus endpoint where the file says. Only the ports change (free ones)."""

from pathlib import Path

import httpx
import pytest

from otel_linnix.testing.cli import run_cli, start_cli
from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.prometheus_server import stop_process
from otel_linnix.testing.readiness import wait_until_ok

SHIPPED = Path(__file__).resolve().parents[1] / "fixtures" / "linnix" / "configs" / "linnix.toml"


def test_validate_warns_about_each_unsupported_setting_and_passes():
    result = run_cli("validate", "--config", str(SHIPPED), env={"LINNIX_API_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 3, result.stderr
    assert any("psi.attribution_threshold_ms" in w for w in warnings)
    assert "OK (3 pipelines" in result.stdout


@pytest.mark.bpf
def test_the_agent_runs_on_linnix_shipped_config(tmp_path):
    api_port, prom_port = free_port(), free_port()
    config = tmp_path / "linnix.toml"
    config.write_text(SHIPPED.read_text().replace("127.0.0.1:3000", f"127.0.0.1:{api_port}")
                      .replace("127.0.0.1:9464", f"127.0.0.1:{prom_port}"))
    agent = start_cli("run", "--config", str(config),
                      env={"LINNIX_API_TOKEN": "", "OTEL_LINNIX_STATE_DIR": str(tmp_path)})
    try:
        wait_until_ok(f"http://127.0.0.1:{api_port}/readyz", agent, "agent", 60,
                      detail=lambda: agent.stderr.read())
        metrics = httpx.get(f"http://127.0.0.1:{prom_port}/metrics", timeout=5).text
        assert "otel_linnix_process_forks_total" in metrics
        assert "otel_linnix_pressure_stall_seconds_total" in metrics
        processes = httpx.get(f"http://127.0.0.1:{api_port}/processes", timeout=5).json()
        assert processes
    finally:
        stop_process(agent, timeout=30)
