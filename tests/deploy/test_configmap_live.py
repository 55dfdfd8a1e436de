"""The Kubernetes ConfigMap's pipeline, run for real, answers the DaemonSet's own probes.

Only the listen ports (free loopback ports instead of 3000 / 9464) and the OTLP endpoint (an
in-process OTLP server instead of the gateway) change. Needs root and BPF.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix.testing.cli import start_cli
from otel_linnix.testing.otlp_server import OTLPServer, free_port
from otel_linnix.testing.prometheus_server import stop_process

from .conftest import configmap_pipeline, k8s_objects
from .test_promql_live import wait_for_endpoint

pytestmark = [pytest.mark.bpf, pytest.mark.slow]


def probe(container: dict, which: str, api_port: int) -> subprocess.CompletedProcess:
    command = [part.replace("127.0.0.1:3000", f"127.0.0.1:{api_port}")
               for part in container[which]["exec"]["command"]]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def families(url: str) -> set[str]:
    return {f.name for f in text_string_to_metric_families(httpx.get(url, timeout=5).text)}


def test_configmap_pipeline_runs_and_passes_the_daemonset_probes(tmp_path):
    pipeline = configmap_pipeline()
    otlp = OTLPServer()
    api_port, prom_port = free_port(), free_port()
    pipeline["extensions"]["api"]["endpoint"] = f"127.0.0.1:{api_port}"
    pipeline["exporters"]["prometheus"]["endpoint"] = f"127.0.0.1:{prom_port}"
    pipeline["exporters"]["otlp"]["endpoint"] = f"127.0.0.1:{otlp.start_grpc()}"
    pipeline["exporters"]["otlp"]["spool"]["directory"] = str(tmp_path / "spool")
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump(pipeline))
    container = k8s_objects()[("DaemonSet", "otel-linnix")]["spec"]["template"]["spec"][
        "containers"][0]
    agent = start_cli("run", "--config", str(config))
    try:
        wait_for_endpoint(f"http://127.0.0.1:{api_port}/healthz", agent)
        assert probe(container, "livenessProbe", api_port).returncode == 0
        deadline = time.monotonic() + 60
        while (ready := probe(container, "readinessProbe", api_port)).returncode != 0 \
                and time.monotonic() < deadline:
            time.sleep(1)
        assert ready.returncode == 0, ready.stderr[-500:]
        # the API's /metrics and the exporter's endpoint are the same registry
        assert families(f"http://127.0.0.1:{api_port}/metrics") == \
            families(f"http://127.0.0.1:{prom_port}/metrics")
        assert otlp.wait_for_spans(1, timeout=60)  # and the agent ships to "the gateway"
    finally:
        stop_process(agent, timeout=30)
        otlp.stop()
    # a stopped agent fails the liveness probe: the probe can fail
    assert probe(container, "livenessProbe", api_port).returncode != 0
