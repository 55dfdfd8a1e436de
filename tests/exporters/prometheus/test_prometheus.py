"""The exporter end to end: its HTTP endpoint, host totals, and a real Prometheus scraping it."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix import recording
from otel_linnix.component import CreateSettings, Kind
from otel_linnix.config import build
from otel_linnix.config.schema import deep_merge
from otel_linnix.exporters.prometheus import FACTORY
from otel_linnix.receivers.hosttotals import HostTotals
from otel_linnix.service import Service
from otel_linnix.testing import random_tree, test_context
from otel_linnix.testing.prometheus_server import prometheus_server, prometheus_unavailable_reason
from otel_linnix.testing.telemetry_checks import wait

from .conftest import add_processes


def make(ctx, **config):
    config = deep_merge(FACTORY.defaults, {"endpoint": "127.0.0.1:0", **config})
    return FACTORY.create(CreateSettings("prometheus", ctx, logging.getLogger("prom")), config)


def scrape(exporter) -> dict:
    text = httpx.get(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_endpoint_serves_parseable_bounded_metrics():
    ctx = test_context()
    add_processes(ctx, 10_000)
    exporter = make(ctx, top_n=5)
    exporter.start()
    try:
        fams = scrape(exporter)
    finally:
        exporter.shutdown()
        exporter.shutdown()  # idempotent
    pids = {s.labels["pid"] for s in fams["process_memory_usage_bytes"].samples}
    assert 5 <= len(pids) <= 15
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{exporter.port}/metrics", timeout=2)


def test_host_totals_are_counted_once_by_the_receiver_whatever_the_exporters(tmp_path):
    """A replay feeding two prometheus exporters: each endpoint shows every fork / exec / exit
    of the recording exactly once (the receiver counts; exporters only serve)."""
    records = random_tree(40)
    rec = tmp_path / "rec.jsonl"
    with open(rec, "w") as fh:
        recording.Writer(fh, test_context().host).write(records)
    raw = {"receivers": {"replay": {"path": str(rec), "speed": 0}},
           "exporters": {"prometheus/a": {"endpoint": "127.0.0.1:0"},
                         "prometheus/b": {"endpoint": "127.0.0.1:0"}},
           "service": {"pipelines": {s: {"receivers": ["replay"],
                                         "exporters": ["prometheus/a", "prometheus/b"]}
                                     for s in ("metrics",)}}}
    service = Service(build(raw), test_context())
    service.start()
    try:
        replay = service.components[(Kind.RECEIVER, "replay")]
        assert wait(lambda: replay.replayed == len(records), 10)
        for cid in ("prometheus/a", "prometheus/b"):
            exporter = service.components[(Kind.EXPORTER, cid)]
            fams = {f.name: f for f in text_string_to_metric_families(httpx.get(
                f"http://127.0.0.1:{exporter.port}/metrics", timeout=5).text)}
            for family, kind in (("otel_linnix_process_forks", "ProcessStart"),
                                 ("otel_linnix_process_execs", "ProcessExec"),
                                 ("otel_linnix_process_exits", "ProcessExit")):
                expected = sum(type(r).__name__ == kind for r in records)
                assert fams[family].samples[0].value == expected, (cid, family)
    finally:
        service.shutdown(5)


def test_port_in_use_is_a_clear_error():
    ctx = test_context()
    first = make(ctx)
    first.start()
    try:
        second = make(ctx, endpoint=f"127.0.0.1:{first.port}")
        with pytest.raises(RuntimeError, match="cannot listen on 127.0.0.1"):
            second.start()
    finally:
        first.shutdown()


@pytest.mark.skipif(prometheus_unavailable_reason() is not None,
                    reason=prometheus_unavailable_reason() or "")
def test_a_real_prometheus_scrapes_the_series():
    ctx = test_context()
    add_processes(ctx, 50)
    ctx.telemetry.counter("otel_linnix.alerts", "Alerts fired").add(
        1, (("rule", "fork_storm"), ("severity", "critical")))
    HostTotals(ctx.telemetry).count(random_tree(20))  # as a receiver counts them
    exporter = make(ctx)
    exporter.start()
    try:
        with prometheus_server({"otel-linnix": [f"127.0.0.1:{exporter.port}"]}) as prom:
            exits = prom.wait_for("otel_linnix_process_exits_total", timeout=30)
            rss = prom.wait_for("process_memory_usage_bytes", timeout=10)
            alerts = prom.wait_for('otel_linnix_alerts_total{rule="fork_storm"}', timeout=10)
            health = [t["health"] for t in prom.targets()]
        served = scrape(exporter)["process_memory_usage_bytes"].samples
    finally:
        exporter.shutdown()
    assert health == ["up"]
    assert float(exits[0]["value"][1]) == 20
    assert {r["metric"]["pid"] for r in rss} == {s.labels["pid"] for s in served}
    assert 10 <= len(rss) <= 30 and {r["metric"]["job"] for r in rss} == {"otel-linnix"}
    assert alerts[0]["metric"]["severity"] == "critical"
