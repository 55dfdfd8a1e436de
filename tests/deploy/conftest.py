"""Shared paths and loaders for the deployment checks (Dockerfile, pipelines, Grafana, k8s)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "examples" / "grafana"
K8S = ROOT / "deploy" / "kubernetes"


def load_all(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def k8s_objects() -> dict[tuple[str, str], dict]:
    """(kind, name) → object, over every manifest in deploy/kubernetes."""
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_all(path):
            if "kind" in doc and "metadata" in doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def configmap_pipeline() -> dict:
    cm = k8s_objects()[("ConfigMap", "otel-linnix-config")]
    return yaml.safe_load(cm["data"]["pipeline.yaml"])


@pytest.fixture(scope="session")
def exported_names(tmp_path_factory) -> set[str]:
    """Metric names the agent exports with the ConfigMap's pipeline (derived, not listed)."""
    from otel_linnix.testing.agent_metrics import exported_metric_names

    return exported_metric_names(configmap_pipeline(), str(tmp_path_factory.mktemp("spool")))
