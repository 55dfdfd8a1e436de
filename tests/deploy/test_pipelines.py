"""Every shipped pipeline (and the Kubernetes ConfigMap's) validates with `otel-linnix validate`."""

from __future__ import annotations

import pytest
import yaml

from otel_linnix.recording import read
from otel_linnix.testing.cli import run_cli

from .conftest import ROOT, configmap_pipeline

PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))
def validate(path) -> None:
    proc = run_cli("validate", "--config", str(path), timeout=120)
    assert proc.returncode == 0, f"{path.name}: {proc.stderr.strip()}"
    assert "OK" in proc.stdout


def test_the_expected_pipelines_are_shipped():
    names = {p.stem for p in PIPELINES}
    assert {"default", "to-collector", "otlphttp", "prometheus-only", "sidecar",
            "replay-demo"} <= names


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_validates(path):
    validate(path)


def test_configmap_pipeline_validates(tmp_path):
    path = tmp_path / "configmap-pipeline.yaml"
    path.write_text(yaml.safe_dump(configmap_pipeline()))
    validate(path)


def test_every_pipeline_has_a_line_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert "## Deployment" in readme
    section = readme.split("## Deployment", 1)[1]
    for path in PIPELINES:
        assert f"pipelines/{path.name}" in section, f"README has no line for {path.name}"


def test_replay_demo_recording_is_shipped_and_readable():
    config = yaml.safe_load((ROOT / "pipelines" / "replay-demo.yaml").read_text())
    default = config["receivers"]["replay"]["path"].split(":-", 1)[1].rstrip("}")
    with open(ROOT / default, encoding="utf-8") as f:
        _, records = read(f)
        assert sum(1 for _ in records) > 100
