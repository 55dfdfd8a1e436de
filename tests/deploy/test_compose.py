"""The Grafana compose stack: parses, references files that exist, ports and names agree."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .conftest import GRAFANA, ROOT


def compose() -> dict:
    return yaml.safe_load((GRAFANA / "docker-compose.yaml").read_text())


def load(name: str) -> dict:
    return yaml.safe_load((GRAFANA / name).read_text())


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1].split("/")[0])


def test_services_and_images():
    services = compose()["services"]
    assert set(services) == {"otel-linnix", "otel-collector", "tempo", "prometheus", "grafana",
                             "traced-app", "alertmanager"}
    assert services["traced-app"]["image"] == services["otel-linnix"]["image"]
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_bind_mounts_and_build_context_exist():
    services = compose()["services"]
    build = services["otel-linnix"]["build"]
    assert (GRAFANA / build["context"] / build["dockerfile"]).is_file()
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (GRAFANA / source).exists(), f"{name}: {source} missing"


def test_agent_config_in_the_image_exists_and_points_at_the_collector():
    agent = compose()["services"]["otel-linnix"]
    default_config = agent["command"][1].split(":-", 1)[1].rstrip("}")
    assert default_config.startswith("/etc/otel-linnix/")  # COPY pipelines/ /etc/otel-linnix/
    pipeline = ROOT / "pipelines" / default_config.rsplit("/", 1)[1]
    assert pipeline.is_file()
    assert "${env:OTLP_ENDPOINT" in pipeline.read_text()
    assert agent["environment"]["API_ENDPOINT"].startswith("127.0.0.1:")  # no token configured
    host, port = agent["environment"]["OTLP_ENDPOINT"].split(":")
    collector = load("otel-collector.yaml")
    assert host in compose()["services"]
    assert port_of(collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]) == int(port)


def test_prometheus_scrapes_the_agent_and_collector_on_their_ports():
    services = compose()["services"]
    agent_env = services["otel-linnix"]["environment"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"][0]
               for job in load("prometheus.yml")["scrape_configs"]}
    assert targets["otel-linnix"] == f"otel-linnix:{port_of(agent_env['PROMETHEUS_ENDPOINT'])}"
    collector = load("otel-collector.yaml")
    assert targets["otel-collector"] == \
        f"otel-collector:{port_of(collector['service']['telemetry']['metrics']['address'])}"
    for target in targets.values():
        assert target.split(":")[0] in services


def test_collector_sends_traces_to_tempo_where_tempo_listens():
    collector = load("otel-collector.yaml")
    tempo = load("tempo.yaml")
    endpoint = collector["exporters"]["otlp/tempo"]["endpoint"]
    assert endpoint.split(":")[0] == "tempo"
    assert port_of(endpoint) == port_of(
        tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    assert "otlp/tempo" in collector["service"]["pipelines"]["traces"]["exporters"]
    remote = tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
    assert remote.startswith("http://prometheus:9090/")
    assert "--web.enable-remote-write-receiver" in compose()["services"]["prometheus"]["command"]


def test_grafana_datasource_urls_match_services():
    datasources = load("provisioning/datasources/datasources.yaml")["datasources"]
    urls = {ds["uid"]: ds["url"] for ds in datasources}
    tempo_port = load("tempo.yaml")["server"]["http_listen_port"]
    assert urls["tempo"] == f"http://tempo:{tempo_port}"
    assert urls["prometheus"] == "http://prometheus:9090"


def test_the_agent_and_prometheus_page_through_the_stacks_alertmanager():
    services = compose()["services"]
    am_port = port_of(services["alertmanager"]["ports"][0])  # the container's side
    agent_env = services["otel-linnix"]["environment"]
    assert agent_env["ALERTMANAGER_ENDPOINT"] == f"http://alertmanager:{am_port}"
    default_config = services["otel-linnix"]["command"][1].split(":-", 1)[1].rstrip("}")
    pipeline = (ROOT / "pipelines" / default_config.rsplit("/", 1)[1]).read_text()
    assert "${env:ALERTMANAGER_ENDPOINT" in pipeline and "${env:TRACE_URL" in pipeline
    assert "{trace_id}" in agent_env["TRACE_URL"]
    prometheus = load("prometheus.yml")
    [target] = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert target == f"alertmanager:{am_port}"


def mounted_path(service: str, path_inside: str):
    """The file of this repository that the compose stack mounts at ``path_inside``."""
    for volume in compose()["services"][service]["volumes"]:
        source, target = volume.split(":")[:2]
        if path_inside == target or path_inside.startswith(target.rstrip("/") + "/"):
            return GRAFANA / source / path_inside[len(target):].lstrip("/")
    raise AssertionError(f"{service} mounts nothing at {path_inside}")


def test_alertmanager_and_prometheus_accept_the_stacks_configs(tmp_path):
    amtool, promtool = shutil.which("amtool"), shutil.which("promtool")
    if amtool is None or promtool is None:
        pytest.skip("amtool / promtool not found (setup installs prometheus-alertmanager and "
                    "prometheus)")
    command = compose()["services"]["alertmanager"]["command"]
    am_config = mounted_path("alertmanager", command[0].split("=", 1)[1])
    checked = subprocess.run([amtool, "check-config", str(am_config)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # promtool reads rule files by path: point them at the files the stack mounts there
    prometheus = load("prometheus.yml")
    prometheus["rule_files"] = [str(mounted_path("prometheus", f))
                                for f in prometheus["rule_files"]]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(prometheus))
    checked = subprocess.run([promtool, "check", "config", str(local)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Compose v1) not installed; make setup installs it")
def test_compose_v1_accepts_the_file():
    """Debian 12's docker-compose 1.29 refuses a top-level `name:`; the stack must still start
    with it (the README names both Compose versions)."""
    result = subprocess.run(["docker-compose", "-f", "docker-compose.yaml", "config", "-q"],
                            cwd=GRAFANA, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
