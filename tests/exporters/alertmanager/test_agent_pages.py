"""End to end, as a user runs it: ``otel-linnix run`` on the shipped with-alertmanager pipeline,
a real fork bomb on the real kernel, a real Alertmanager, and the webhook that paging hangs off."""

import time
from pathlib import Path

import httpx
import pytest

from otel_linnix.testing.alertmanager_server import (
    alertmanager_server,
    alertmanager_unavailable_reason,
)
from otel_linnix.testing.cli import start_cli
from otel_linnix.testing.otlp_server import OTLPServer, free_port
from otel_linnix.testing.readiness import wait_until_ok
from otel_linnix.testing.scenario import run_scenario

pytestmark = [pytest.mark.bpf,
              pytest.mark.skipif(alertmanager_unavailable_reason() is not None,
                                 reason=alertmanager_unavailable_reason() or "")]

PIPELINE = Path(__file__).resolve().parents[3] / "pipelines" / "with-alertmanager.yaml"


def fork_alerts(alert: dict) -> bool:
    return alert["labels"].get("alertname") == "fork_storm"


def test_a_fork_bomb_pages_through_alertmanager_and_shows_in_prometheus():
    collector = OTLPServer()
    otlp_port = collector.start_grpc()
    api_port, prom_port = free_port(), free_port()
    with alertmanager_server() as am:
        agent = start_cli("run", "--config", str(PIPELINE), env={
            "ALERTMANAGER_ENDPOINT": am.url, "OTLP_ENDPOINT": f"127.0.0.1:{otlp_port}",
            "API_ENDPOINT": f"127.0.0.1:{api_port}",
            "PROMETHEUS_ENDPOINT": f"127.0.0.1:{prom_port}",
            "TRACE_URL": "http://tempo.example/trace/{trace_id}"})
        try:
            wait_until_ok(f"http://127.0.0.1:{api_port}/readyz", agent, "agent", 60,
                          detail=lambda: agent.stderr.read())
            _, events = run_scenario("fork_bomb", "--seconds", "4", "--cap", "300", settle=0)
            listed = am.wait_for(fork_alerts, timeout=5.0)
            firing_series = httpx.get(f"http://127.0.0.1:{prom_port}/metrics", timeout=5).text
            deadline = time.monotonic() + 5
            while not am.webhook.notifications and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            agent.terminate()
            agent.wait(15)
            collector.stop()
    assert "onset" in events
    assert listed, "Alertmanager lists no fork_storm alert from the agent"
    alert = listed[0]
    assert alert["labels"]["severity"] in ("warning", "critical")
    assert alert["labels"]["host"] and alert["annotations"]["summary"]
    if "trace_id" in alert["annotations"]:
        assert alert["annotations"]["trace_url"].endswith(alert["annotations"]["trace_id"])
    hooked = [a for n in am.webhook.notifications for a in n["alerts"]
              if a["labels"].get("alertname") == "fork_storm"]
    assert hooked and hooked[0]["status"] == "firing"
    assert any(line.startswith("otel_linnix_alert_firing{") and 'rule="fork_storm"' in line
               for line in firing_series.splitlines())
