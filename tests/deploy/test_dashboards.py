"""Grafana provisioning and dashboards: data source uids exist, metric names are the agent's."""

from __future__ import annotations

import json

import pytest
import yaml

from .conftest import GRAFANA, load_all
from .promql import dashboard_variables, metric_names, panels, prometheus_targets

DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def provisioned_datasources() -> dict[str, dict]:
    out = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for doc in load_all(path):
            for ds in doc.get("datasources", []):
                out[ds["uid"]] = ds
    return out


def test_there_are_dashboards_with_prometheus_queries():
    assert {p.name for p in DASHBOARDS} >= {"host-process-activity.json", "process-traces.json"}
    assert len(list(prometheus_targets(GRAFANA / "dashboards" / "host-process-activity.json"))) >= 15


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_datasource_uid_is_provisioned(path):
    uids = provisioned_datasources()
    dashboard = json.loads(path.read_text())
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        for ds in [panel.get("datasource"), *(t.get("datasource") for t in panel["targets"])]:
            assert ds, f"{path.name}: panel {panel['title']!r} has no datasource"
            assert ds["uid"] in uids, f"{path.name}: {panel['title']!r} uses unknown uid {ds['uid']}"
            assert uids[ds["uid"]]["type"] == ds["type"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_metric_a_panel_uses_is_exported_by_the_agent(path, exported_names):
    for title, _, target in prometheus_targets(path):
        names = metric_names(target["expr"])
        assert names, f"{title!r}: no metric found in {target['expr']!r}"
        unknown = names - exported_names
        assert not unknown, f"{path.name}: panel {title!r} uses {sorted(unknown)}, not exported"


def test_host_dashboard_covers_activity_top_processes_alerts_and_agent_health():
    path = GRAFANA / "dashboards" / "host-process-activity.json"
    used = set().union(*(metric_names(t["expr"]) for _, _, t in prometheus_targets(path)))
    for needed in ("otel_linnix_process_forks_total", "otel_linnix_process_execs_total",
                   "otel_linnix_process_exits_total", "process_cpu_time_seconds_total",
                   "process_memory_usage_bytes", "process_unix_file_descriptor_count",
                   "otel_linnix_alerts_total", "otel_linnix_receiver_lost_total",
                   "otel_linnix_exporter_dropped_total", "otel_linnix_exporter_send_failures_total"):
        assert needed in used, needed


def test_traces_dashboard_queries_tempo_with_traceql():
    dashboard = json.loads((GRAFANA / "dashboards" / "process-traces.json").read_text())
    tempo = [t for p in panels(dashboard) for t in p.get("targets", [])
             if t["datasource"]["type"] == "tempo"]
    assert len(tempo) >= 3 and all(t["queryType"] == "traceql" for t in tempo)
    assert any('resource.service.name = "otel-linnix"' in t["query"] for t in tempo)


def test_metric_name_extraction_ignores_labels_functions_and_keywords():
    expr = ('topk(10, sum by (pid, comm) (rate(process_cpu_time_seconds_total{job="x", '
            'comm=~"a.b"}[1m]))) / on (pid) group_left process_unix_file_descriptor_limit')
    assert metric_names(expr) == {"process_cpu_time_seconds_total",
                                  "process_unix_file_descriptor_limit"}


def test_trace_and_metric_links_point_at_provisioned_datasources():
    uids = provisioned_datasources()
    tempo = uids["tempo"]["jsonData"]
    assert tempo["tracesToMetrics"]["datasourceUid"] in uids
    assert tempo["serviceMap"]["datasourceUid"] in uids
    dest = uids["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert all(d["datasourceUid"] in uids for d in dest)


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboards():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml")
                              .read_text())["providers"][0]
    compose = yaml.safe_load((GRAFANA / "docker-compose.yaml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["./dashboards"] == provider["options"]["path"]
    assert mounts["./provisioning"] == "/etc/grafana/provisioning"


def test_dashboard_variables_have_values():
    for path in DASHBOARDS:
        for name, value in dashboard_variables(path).items():
            assert value != "" or name == "trace_id", f"{path.name}: ${name} has no value"
