"""Kubernetes manifests: parse, reference what exists, ports and names agree with the configs."""

from __future__ import annotations

import re

import yaml

from .conftest import K8S, configmap_pipeline, k8s_objects, load_all

CAPS = {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE"}


def agent_pod() -> dict:
    return k8s_objects()[("DaemonSet", "otel-linnix")]["spec"]["template"]["spec"]


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_every_manifest_parses_and_kustomization_lists_them_all():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == manifests
    for name in listed:
        for doc in load_all(K8S / name):
            assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], name


def test_daemonset_runs_with_host_pid_and_only_the_minimal_capabilities():
    pod = agent_pod()
    assert pod["hostPID"] is True and not pod.get("hostNetwork")
    sc = pod["containers"][0]["securityContext"]
    assert set(sc["capabilities"]["add"]) == CAPS and sc["capabilities"]["drop"] == ["ALL"]
    assert sc.get("privileged") is False


def test_kernel_interfaces_are_mounted_read_only_from_the_host():
    pod = agent_pod()
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    for path in ("/sys/kernel/btf", "/sys/fs/cgroup", "/sys/kernel/tracing"):
        mount = mounts[path]
        assert mount.get("readOnly") is True, path
        assert volumes[mount["name"]]["hostPath"]["path"] == path
    for mount in mounts.values():
        assert mount["name"] in volumes


def probe_url(probe: dict) -> str:
    """The URL an exec probe fetches (the API is on the pod's loopback, see the ConfigMap)."""
    command = " ".join(probe["exec"]["command"])
    return re.search(r"http://[^'\"\s]+", command).group(0)


def test_resources_and_probes_use_the_api_port_of_the_pipeline():
    container = agent_pod()["containers"][0]
    assert container["resources"]["limits"]["memory"] and container["resources"]["limits"]["cpu"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    pipeline = configmap_pipeline()
    assert ports["metrics"] == port_of(pipeline["exporters"]["prometheus"]["endpoint"])
    api = pipeline["extensions"]["api"]
    # the API refuses a non-loopback address without a token, which an httpGet probe cannot send
    assert api["endpoint"].startswith("127.0.0.1:") or api.get("auth")
    base = f"http://{api['endpoint']}"
    assert probe_url(container["livenessProbe"]) == f"{base}/healthz"
    assert probe_url(container["readinessProbe"]) == f"{base}/readyz"


def test_agent_reads_the_configmap_it_mounts():
    container = agent_pod()["containers"][0]
    config_volume = next(v for v in agent_pod()["volumes"] if v["name"] == "config")
    cm = k8s_objects()[("ConfigMap", config_volume["configMap"]["name"])]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    config_path = container["args"][container["args"].index("--config") + 1]
    assert config_path.startswith(mount["mountPath"] + "/")
    assert config_path.rsplit("/", 1)[1] in cm["data"]


def test_downward_api_provides_pod_namespace_and_node_names():
    env = {e["name"]: e for e in agent_pod()["containers"][0]["env"]}
    fields = {name: e["valueFrom"]["fieldRef"]["fieldPath"] for name, e in env.items()
              if "valueFrom" in e}
    assert fields == {"K8S_POD_NAME": "metadata.name", "K8S_NAMESPACE_NAME": "metadata.namespace",
                      "K8S_NODE_NAME": "spec.nodeName"}


def test_agents_feed_the_gateway_service_on_its_otlp_port():
    objects = k8s_objects()
    env = {e["name"]: e.get("value") for e in agent_pod()["containers"][0]["env"]}
    host, port = env["OTLP_ENDPOINT"].rsplit(":", 1)
    service = objects[("Service", "otel-gateway")]
    assert host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
    assert "${env:OTLP_ENDPOINT" in configmap_pipeline()["exporters"]["otlp"]["endpoint"]
    gateway = objects[("Deployment", "otel-gateway")]["spec"]["template"]
    assert service["spec"]["selector"].items() <= gateway["metadata"]["labels"].items()
    collector = yaml.safe_load(objects[("ConfigMap", "otel-gateway-config")]["data"]["config.yaml"])
    grpc = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    target = next(p["targetPort"] for p in service["spec"]["ports"] if p["port"] == int(port))
    container_ports = {p["name"]: p["containerPort"] for p in gateway["spec"]["containers"][0]["ports"]}
    assert container_ports[target] == port_of(grpc)
    assert "otlp" in collector["service"]["pipelines"]["traces"]["receivers"]


def test_gateway_mounts_its_config_where_it_reads_it():
    objects = k8s_objects()
    pod = objects[("Deployment", "otel-gateway")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config_arg = next(a for a in container["args"] if a.startswith("--config="))
    path = config_arg.split("=", 1)[1]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert path.rsplit("/", 1)[1] in objects[("ConfigMap", volume["configMap"]["name"])]["data"]


def test_scrape_service_selects_the_agents_on_the_metrics_port():
    objects = k8s_objects()
    service = objects[("Service", "otel-linnix")]
    labels = objects[("DaemonSet", "otel-linnix")]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["metrics"]["port"] == port_of(configmap_pipeline()["exporters"]["prometheus"]["endpoint"])
    for obj in objects.values():
        if obj["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):  # namespaced
            assert obj["metadata"]["namespace"] == "observability", obj["metadata"]["name"]


def test_every_manifest_validates_against_the_kubernetes_schemas_offline():
    import copy

    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    objects = k8s_objects()
    for (kind, _), obj in objects.items():
        if kind != "Kustomization":
            kubernetes_validate.validate(obj, version, strict=True)  # raises, naming the field
    broken = copy.deepcopy(objects[("DaemonSet", "otel-linnix")])
    broken["spec"]["template"]["spec"]["hostPid"] = True  # a misspelling strict mode refuses
    try:
        kubernetes_validate.validate(broken, version, strict=True)
    except kubernetes_validate.ValidationError:
        pass
    else:
        raise AssertionError("the validator accepted a misspelt field")


def test_the_gateway_names_each_pod_by_the_uid_and_container_the_agents_export():
    objects = k8s_objects()
    config = yaml.safe_load(objects[("ConfigMap", "otel-gateway-config")]["data"]["config.yaml"])
    k8s = config["processors"]["k8sattributes"]
    associations = [s["name"] for a in k8s["pod_association"] for s in a["sources"]
                    if s["from"] == "resource_attribute"]
    assert associations == ["k8s.pod.uid", "container.id"]
    assert {"k8s.pod.name", "k8s.namespace.name"} <= set(k8s["extract"]["metadata"])
    for name, pipeline in config["service"]["pipelines"].items():
        assert "k8sattributes" in pipeline["processors"], name
    pod = objects[("Deployment", "otel-gateway")]["spec"]["template"]["spec"]
    account = pod["serviceAccountName"]
    assert ("ServiceAccount", account) in objects
    [binding] = [o for (kind, _), o in objects.items() if kind == "ClusterRoleBinding"
                 and any(s["name"] == account for s in o["subjects"])]
    role = objects[("ClusterRole", binding["roleRef"]["name"])]
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"]
               for g in rule["apiGroups"] for r in rule["resources"]}
    for needed in (("", "pods"), ("", "namespaces"), ("apps", "replicasets")):
        assert {"get", "watch", "list"} <= granted[needed], needed
    assert not any(v - {"get", "watch", "list"} for v in granted.values()), "read-only"
