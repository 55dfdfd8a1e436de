"""The exporter inside the real agent: `otel-linnix run` replaying a recording (no BPF needed)."""

from __future__ import annotations

import time

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix.recording import Writer
from otel_linnix.records import ProcessExec, ProcessExit, ProcessStart
from otel_linnix.testing import random_tree, test_context
from otel_linnix.testing.cli import start_cli
from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.prometheus_server import stop_process


def scrape(port: int) -> dict[str, float]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.TransportError:
        return {}
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if not s.labels}


def test_replayed_tree_shows_up_as_host_totals(tmp_path):
    records = random_tree(300)
    recording = tmp_path / "tree.jsonl"
    with open(recording, "w", encoding="utf-8") as f:
        Writer(f, test_context().host).write(records)
    port = free_port()
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({
        "receivers": {"replay": {"path": str(recording), "speed": 0}},
        "exporters": {"prometheus": {"endpoint": f"127.0.0.1:{port}"}},
        "service": {"pipelines": {"metrics": {"receivers": ["replay"],
                                              "exporters": ["prometheus"]}}},
    }))
    expected = {f"otel_linnix_process_{name}_total": sum(type(r) is kind for r in records)
                for name, kind in (("forks", ProcessStart), ("execs", ProcessExec),
                                   ("exits", ProcessExit))}
    agent = start_cli("run", "--config", str(config))
    try:
        deadline, seen = time.monotonic() + 60, {}
        while time.monotonic() < deadline and agent.poll() is None:
            seen = {k: v for k, v in scrape(port).items() if k in expected}
            if seen == expected:
                break
            time.sleep(0.3)
    finally:
        stop_process(agent, timeout=20)
    assert seen == expected, agent.stderr.read()[-2000:]
