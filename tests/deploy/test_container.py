"""The container as a user meets it, on the machine's real Docker engine and kernel: the image
builds from this tree, the replay demo is healthy as the unprivileged user, and the node agent,
started with exactly the README's flags, loads its BPF programs and exports a host process's
exit code to an OTLP receiver; with or without the kernel-header mounts.

Skips (saying why) only where no Docker engine can run at all.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid

import pytest

from otel_linnix.testing import docker
from otel_linnix.testing.otlp_server import OTLPServer, attributes, free_port

from .conftest import ROOT

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

TAG = "otel-linnix:test"
NODE = "otel-linnix-test-node"
DEMO = "otel-linnix-test-demo"


def documented_run_flags() -> list[str]:
    """The README's `docker run` line for the node agent: its flags, without name and image."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"docker run -d --name otel-linnix (--pid=host.*?)\n\s*otel-linnix --config",
                      text, re.S)
    assert block, "README: no `docker run -d --name otel-linnix --pid=host ...` block"
    return [word for word in block.group(1).split() if word != "\\"]


@pytest.fixture(scope="module")
def image():
    try:
        with docker.engine():
            built = docker.build(str(ROOT), TAG)
            print(f"\nimage {TAG}: built in {built.build_seconds:.0f} s, "
                  f"{built.size_bytes / 1e6:.0f} MB (base {built.base})")
            yield built
            docker.remove(NODE, DEMO)
    except docker.EngineUnavailable as exc:
        pytest.skip(f"no Docker engine can run here: {exc}")


def test_the_image_is_small_and_pins_its_python_packages(image):
    assert image.size_bytes < 500e6, f"{image.size_bytes / 1e6:.0f} MB"
    freeze = docker.docker("run", "--rm", "--entrypoint", "pip", TAG, "--version",
                           check=False)
    assert freeze.returncode != 0, "pip left in the image"
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    listed = docker.docker("run", "--rm", "--entrypoint", "python3", TAG, "-c",
                           "import importlib.metadata as m; print('\\n'.join(f'{d.name}=={d.version}'"
                           " for d in m.distributions(path=[p for p in __import__('sys').path "
                           "if 'venv' in p])))").stdout.decode().split()
    installed = dict(line.split("==") for line in listed)
    assert installed.pop("otel-linnix")
    normalize = lambda name: name.lower().replace("_", "-")  # noqa: E731
    pinned = {normalize(k): v for k, v in pins.items()}
    for name, version in installed.items():
        assert pinned.get(normalize(name)) == version, f"{name} {version} is not the pinned one"


def test_the_replay_demo_is_healthy_as_the_unprivileged_user(image):
    docker.remove(DEMO)
    docker.docker("run", "-d", "--name", DEMO, "--user", "otel-linnix", TAG,
                  "--config", "/etc/otel-linnix/replay-demo.yaml")
    deadline = time.monotonic() + 90
    while (status := docker.health(DEMO)) not in ("healthy", "unhealthy", "exited", "gone"):
        assert time.monotonic() < deadline, f"still {status}:\n{docker.logs(DEMO)[-2000:]}"
        time.sleep(1)
    assert status == "healthy", docker.logs(DEMO)[-2000:]
    assert "Permission denied" not in docker.logs(DEMO)
    docker.remove(DEMO)


def _bridge_gateway() -> str:
    """The host's address on the default bridge (its gateway; by default the subnet's first)."""
    import ipaddress

    [config] = json.loads(docker.docker("network", "inspect", "-f", "{{json .IPAM.Config}}",
                                        "bridge").stdout)[:1]
    if config.get("Gateway"):
        return config["Gateway"]
    return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def _run_agent(flags: list[str], *extra: str, name: str = NODE,
               config: str = "/etc/otel-linnix/to-collector.yaml") -> str:
    """Start the agent; returns which capability flags the engine took."""
    docker.remove(name)
    tail = [TAG, "--config", config]
    result = docker.docker("run", "-d", "--name", name, *extra, *flags, *tail, check=False)
    if result.returncode == 0:
        return "BPF, PERFMON"
    error = result.stderr.decode()
    # An engine older than 23.0 does not know the names: the README's fallback, nothing else.
    assert "unknown capability" in error, error
    docker.remove(name)
    fallback = [f for f in flags if f not in ("--cap-add=BPF", "--cap-add=PERFMON")]
    docker.docker("run", "-d", "--name", name, *extra, "--cap-add=SYS_ADMIN", *fallback, *tail)
    return "SYS_ADMIN (this engine predates the BPF / PERFMON names)"


def _ready(name: str = NODE, timeout: float = 90) -> None:
    probe = ("import urllib.request; print(urllib.request.urlopen("
             "'http://127.0.0.1:3000/readyz', timeout=2).read().decode())")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = docker.docker("exec", name, "python3", "-c", probe, check=False)
        if out.returncode == 0 and b'"ready":true' in out.stdout.replace(b" ", b""):
            return
        if docker.health(name) in ("exited", "gone"):
            break
        time.sleep(1)
    raise AssertionError(f"/readyz never ready:\n{docker.logs(name)[-3000:]}")


def test_the_node_agent_with_the_documented_flags_exports_a_host_processs_exit_code(image):
    gateway = _bridge_gateway()
    server = OTLPServer(host=gateway)
    port = server.start_grpc()
    try:
        flags = documented_run_flags()
        flags = [f"127.0.0.1:{free_port()}:9464" if f == "127.0.0.1:9464:9464" else f
                 for f in flags]
        took = _run_agent(flags, "-e", f"OTLP_ENDPOINT={gateway}:{port}")
        _ready()
        marker = f"otel-linnix-container-test-{uuid.uuid4().hex[:8]}"
        done = subprocess.run(["sh", "-c", "exit 3", marker], check=False)  # on the host
        assert done.returncode == 3
        deadline = time.monotonic() + 30
        found = []
        while not found and time.monotonic() < deadline:
            found = [s for s in server.spans() if marker in str(
                attributes(s).get("process.command_args", ""))]
            time.sleep(0.5)
        assert found, f"no span of the host's `sh -c 'exit 3'` ({took}):\n" \
                      f"{docker.logs(NODE)[-3000:]}"
        [span] = found
        assert attributes(span)["process.exit.code"] == {"intValue": "3"}
        assert span.status.message == "exit code 3"
        logs = docker.logs(NODE)
        assert "Tini is not running as PID 1" not in logs
        assert "Permission denied" not in logs, logs[-2000:]
    finally:
        docker.remove(NODE)
        server.stop()


@pytest.mark.parametrize("headers", ["no header mounts", "empty header mounts"])
def test_the_node_agent_starts_without_the_hosts_kernel_headers(image, tmp_path, headers):
    flags = documented_run_flags()
    mounts = {"-v /lib/modules:/lib/modules:ro", "-v /usr/src:/usr/src:ro"}
    kept, i = [], 0
    while i < len(flags):  # drop the two header mounts (a -v and its value)
        if flags[i] == "-v" and f"-v {flags[i + 1]}" in mounts:
            i += 2
            continue
        if flags[i].startswith("-p"):  # no published port needed here
            i += 2
            continue
        kept.append(flags[i])
        i += 1
    if headers == "empty header mounts":
        (tmp_path / "modules").mkdir()
        (tmp_path / "src").mkdir()
        kept += ["-v", f"{tmp_path / 'modules'}:/lib/modules:ro",
                 "-v", f"{tmp_path / 'src'}:/usr/src:ro"]
    _run_agent(kept)
    try:
        _ready()
        assert "ebpf_process attached" in docker.logs(NODE)
    finally:
        docker.remove(NODE)


def test_the_sidecar_sees_only_its_workload_in_the_workloads_own_pid_numbers(image):
    from otel_linnix import procfs

    workload, sidecar = "otel-linnix-test-workload", "otel-linnix-test-sidecar"
    docker.remove(workload, sidecar)
    gateway = _bridge_gateway()
    server = OTLPServer(host=gateway)
    port = server.start_grpc()
    try:
        # the workload: its pid 1 is a shell that keeps starting children exiting with 7
        docker.docker("run", "-d", "--name", workload, "--entrypoint", "sh", docker.BASE_IMAGE,
                      "-c", "while :; do sh -c 'exit 7'; sleep 0.3; done")
        host_pid = int(docker.docker("inspect", "-f", "{{.State.Pid}}", workload).stdout)
        scope = procfs.read_cgroup(host_pid)  # the workload's cgroup, as the agent resolves it
        assert scope.strip("/"), "the workload has no cgroup of its own"
        flags = [f for f in documented_run_flags() if f != "--pid=host"]
        i = flags.index("-p")
        del flags[i:i + 2]
        _run_agent(flags, f"--pid=container:{workload}", "-e", f"OTLP_ENDPOINT={gateway}:{port}",
                   "-e", f"OTEL_LINNIX_CGROUP={scope}", name=sidecar,
                   config="/etc/otel-linnix/sidecar.yaml")
        _ready(sidecar)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.spans()) < 5:
            time.sleep(0.5)
        spans = server.spans()
        assert len(spans) >= 5, docker.logs(sidecar)[-3000:]
        for span in spans:  # only the workload's processes, none of the host's or the agent's
            attrs = attributes(span)
            assert attrs["process.linux.cgroup"] == {"stringValue": scope}, attrs
        exits = [attributes(s) for s in spans
                 if attributes(s).get("process.exit.code") == {"intValue": "7"}]
        assert exits, "no span of the workload's `sh -c 'exit 7'`"
        # one pid namespace: the children's parent is the workload's pid 1, not a host pid
        assert {a["process.parent_pid"]["intValue"] for a in exits} == {"1"}
        listed = docker.docker("exec", sidecar, "python3", "-c",
                               "import urllib.request; print(urllib.request.urlopen("
                               "'http://127.0.0.1:3000/processes', timeout=5).read().decode())")
        processes = json.loads(listed.stdout)["processes"]
        assert processes and all(p["cgroup"] == scope for p in processes), processes[:5]
        assert any(p["pid"] == 1 and p["comm"] == "sh" for p in processes), processes[:5]
    finally:
        docker.remove(workload, sidecar)
        server.stop()
