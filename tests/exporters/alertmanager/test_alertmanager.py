"""The alertmanager exporter against a real Alertmanager (Debian's prometheus-alertmanager)."""

import logging
import time

import pytest

from otel_linnix.component import CreateSettings, Signal
from otel_linnix.config.schema import deep_merge
from otel_linnix.exporters.alertmanager import FACTORY
from otel_linnix.records import Alert, AlertSubject, ProcessStart
from otel_linnix.testing import test_context
from otel_linnix.testing.alertmanager_server import (
    alertmanager_server,
    alertmanager_unavailable_reason,
)

pytestmark = pytest.mark.skipif(alertmanager_unavailable_reason() is not None,
                                reason=alertmanager_unavailable_reason() or "")

CONTAINER = "ab" * 32


@pytest.fixture
def am():
    with alertmanager_server() as server:
        yield server


def exporter_for(am, ctx, **config):
    settings = CreateSettings("alertmanager", ctx, logging.getLogger("am"))
    exporter = FACTORY.create(settings, deep_merge(FACTORY.defaults, {
        "endpoint": am.url, "labels": {"team": "infra"},
        "trace_url": "http://tempo/trace/{trace_id}?span={span_id}", **config}))
    exporter.start()
    return exporter


def fork_bomb_alert(ctx, state="firing", argv=("bash", "-c", "b(){ b|b& }; b"), ts=None):
    start_ns = 10**12
    ctx.process_table.apply([ProcessStart(4242, 1, start_ns, 1, 0, 0, "bash", 0,
                                          f"/docker/{CONTAINER}")])
    now = ts or time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return Alert(id="a1", rule="fork_bomb", severity="critical", state=state,
                 subject=AlertSubject(pid=4242, start_ns=start_ns, comm="bash", exe="/bin/bash",
                                      container_id=CONTAINER, cgroup_path=f"/docker/{CONTAINER}",
                                      argv=argv),
                 message="pids in /docker/… grow toward pids.max", first_seen_ns=now - 10**9,
                 last_seen_ns=now, annotation={"summary": "a shell fork bomb"})


def ours(alert):
    return alert["labels"].get("alertname") == "fork_bomb"


def test_a_firing_alert_is_listed_with_its_labels_and_annotations_within_2_s(am):
    ctx = test_context()
    exporter = exporter_for(am, ctx)
    try:
        t0 = time.monotonic()
        exporter.consume(Signal.LOGS, [fork_bomb_alert(ctx)])
        [listed] = am.wait_for(ours, timeout=2.0)
        assert time.monotonic() - t0 <= 2.0
    finally:
        exporter.shutdown()
    assert listed["labels"] == {"alertname": "fork_bomb", "severity": "critical",
                                "host": "test-host", "team": "infra",
                                "container_id": CONTAINER[:12], "exe": "/bin/bash"}
    notes = listed["annotations"]
    assert notes["summary"].startswith("pids in") and notes["explanation"] == "a shell fork bomb"
    assert notes["command"] == "bash -c b(){ b|b& }; b" and notes["pid"] == "4242"
    assert len(notes["trace_id"]) == 32 and len(notes["span_id"]) == 16
    assert notes["trace_url"] == f"http://tempo/trace/{notes['trace_id']}?span={notes['span_id']}"
    assert listed["status"]["state"] == "active"


def test_a_resolution_ends_the_alert_and_the_webhook_hears_both(am):
    ctx = test_context()
    exporter = exporter_for(am, ctx)
    try:
        exporter.consume(Signal.LOGS, [fork_bomb_alert(ctx)])
        assert am.wait_for(ours, timeout=2.0)
        exporter.consume(Signal.LOGS, [fork_bomb_alert(ctx, state="resolved")])
        deadline = time.monotonic() + 10
        while am.alerts() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [a for a in am.alerts() if ours(a)], "resolved: no longer active"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                n["status"] == "resolved" for n in am.webhook.notifications):
            time.sleep(0.05)
    finally:
        exporter.shutdown()
    statuses = [n["status"] for n in am.webhook.notifications]
    assert "firing" in statuses and statuses[-1] == "resolved"
    assert am.webhook.notifications[0]["alerts"][0]["labels"]["alertname"] == "fork_bomb"


def test_alerts_fired_while_alertmanager_is_down_arrive_after_it_returns_once(am):
    ctx = test_context()
    exporter = exporter_for(am, ctx, resend_interval="2s")
    try:
        am.stop()
        exporter.consume(Signal.LOGS, [fork_bomb_alert(ctx)])
        started = time.monotonic()
        time.sleep(30)  # thirty seconds of outage while the alert fires
        assert exporter.force_flush(0.1) is False, "still owed while Alertmanager is down"
        failed = sum(p.value for p in ctx.telemetry.get("otel_linnix.alertmanager.failed").points())
        assert failed >= 3, "retries counted"
        am.start()
        [listed] = am.wait_for(ours, timeout=35.0)
        assert time.monotonic() - started < 70
        time.sleep(3)  # a re-post or two later, still one alert
        assert len([a for a in am.alerts() if ours(a)]) == 1
    finally:
        exporter.shutdown()
    firing = [a for n in am.webhook.notifications for a in n["alerts"] if a["status"] == "firing"]
    assert len({a["fingerprint"] for a in firing}) == 1, "one alert, not one per retry"


def test_a_planted_password_never_reaches_alertmanager(am):
    ctx = test_context()
    exporter = exporter_for(am, ctx)
    try:
        exporter.consume(Signal.LOGS, [fork_bomb_alert(
            ctx, argv=("mysql", "--password=hunter2", "-u", "root"))])
        [listed] = am.wait_for(ours, timeout=2.0)
        deadline = time.monotonic() + 5
        while not am.webhook.notifications and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        exporter.shutdown()
    assert listed["annotations"]["command"] == "mysql --password=*** -u root"
    assert "hunter2" not in str(am.alerts()) and "hunter2" not in str(am.webhook.notifications)


def test_an_unreachable_alertmanager_never_slows_the_pipeline():
    ctx = test_context()
    settings = CreateSettings("alertmanager", ctx, logging.getLogger("am"))
    exporter = FACTORY.create(settings, deep_merge(FACTORY.defaults,
                                                   {"endpoint": "http://127.0.0.1:9",
                                                    "queue_size": 50}))
    exporter.start()
    try:
        t0 = time.monotonic()
        for i in range(2000):
            alert = fork_bomb_alert(ctx)
            alert.id = f"a{i}"
            exporter.consume(Signal.LOGS, [alert])
        assert time.monotonic() - t0 < 2.0
    finally:
        exporter.shutdown(1)
    dropped = {dict(p.labels).get("reason"): p.value
               for p in ctx.telemetry.get("otel_linnix.exporter.dropped").points()}
    assert dropped.get("queue_full", 0) >= 1900, dropped


def test_config_needs_exactly_one_of_endpoint_and_endpoints():
    from otel_linnix.config import ConfigError, build

    base = {"receivers": {"replay": {"path": "x.jsonl"}},
            "service": {"pipelines": {"logs": {"receivers": ["replay"],
                                               "exporters": ["alertmanager"]}}}}
    for bad in ({}, {"endpoint": "http://a:9093", "endpoints": ["http://b:9093"]},
                {"endpoint": "a:9093"}):
        with pytest.raises(ConfigError, match="alertmanager"):
            build({**base, "exporters": {"alertmanager": bad}})


def test_the_example_prometheus_rule_file_is_valid():
    import shutil
    import subprocess
    from pathlib import Path

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found (Debian's prometheus package ships it)")
    rules = Path(__file__).resolve().parents[3] / "examples" / "alerting" / "otel-linnix-alerts.yml"
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
