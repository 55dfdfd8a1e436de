"""The container as a user meets it, on the machine's real Docker engine and kernel: the image
builds from this tree, the replay demo is healthy as the unprivileged user, and the node agent,
started with exactly the README's flags, loads its BPF programs and exports a host process's
exit code to an OTLP receiver; with or without the kernel-header mounts.

Skips (saying why) only where no Docker engine can run at all.
"""

from __future__ import annotations

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
    import json

    [config] = json.loads(docker.docker("network", "inspect", "-f", "{{json .IPAM.Config}}",
                                        "bridge").stdout)[:1]
    if config.get("Gateway"):
        return config["Gateway"]
    return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def _run_node(flags: list[str], *extra: str) -> str:
    """Start the node agent; returns which capability flags the engine took."""
    docker.remove(NODE)
    args = ["run", "-d", "--name", NODE, *extra, *flags, TAG,
            "--config", "/etc/otel-linnix/to-collector.yaml"]
    result = docker.docker(*args, check=False)
    if result.returncode == 0:
        return "BPF, PERFMON"
    error = result.stderr.decode()
    # An engine older than 23.0 does not know the names: the README's fallback, nothing else.
    assert "unknown capability" in error, error
    docker.remove(NODE)
    fallback = [f for f in flags if f not in ("--cap-add=BPF", "--cap-add=PERFMON")]
    docker.docker("run", "-d", "--name", NODE, *extra, "--cap-add=SYS_ADMIN", *fallback, TAG,
                  "--config", "/etc/otel-linnix/to-collector.yaml")
    return "SYS_ADMIN (this engine predates the BPF / PERFMON names)"


def _ready(timeout: float = 90) -> None:
    probe = ("import urllib.request; print(urllib.request.urlopen("
             "'http://127.0.0.1:3000/readyz', timeout=2).read().decode())")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = docker.docker("exec", NODE, "python3", "-c", probe, check=False)
        if out.returncode == 0 and b'"ready":true' in out.stdout.replace(b" ", b""):
            return
        if docker.health(NODE) in ("exited", "gone"):
            break
        time.sleep(1)
    raise AssertionError(f"/readyz never ready:\n{docker.logs(NODE)[-3000:]}")


def test_the_node_agent_with_the_documented_flags_exports_a_host_processs_exit_code(image):
    gateway = _bridge_gateway()
    server = OTLPServer(host=gateway)
    port = server.start_grpc()
    try:
        flags = documented_run_flags()
        flags = [f"127.0.0.1:{free_port()}:9464" if f == "127.0.0.1:9464:9464" else f
                 for f in flags]
        took = _run_node(flags, "-e", f"OTLP_ENDPOINT={gateway}:{port}")
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
    _run_node(kept)
    try:
        _ready()
        assert "ebpf_process attached" in docker.logs(NODE)
    finally:
        docker.remove(NODE)
