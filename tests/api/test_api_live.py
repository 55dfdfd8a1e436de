"""The API on live data: the real eBPF receiver and the API in one service."""

import subprocess
import time

import httpx
import pytest

from otel_linnix.config import build
from otel_linnix.service import Service
from otel_linnix.testing import test_context
from otel_linnix.testing.otlp_server import free_port

pytestmark = pytest.mark.bpf


def test_a_live_process_shows_up_in_processes_graph_and_stream():
    port = free_port()
    raw = {"receivers": {"ebpf_process": {}}, "exporters": {"debug": {}},
           "extensions": {"api": {"endpoint": f"127.0.0.1:{port}"}},
           "service": {"extensions": ["api"], "pipelines": {
               "traces": {"receivers": ["ebpf_process"], "exporters": ["debug"]}}}}
    service = Service(build(raw), test_context())
    service.start()
    url = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{url}/readyz").json() == {"ready": True}
        sleeper = subprocess.Popen(["/bin/sleep", "30"])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                resp = httpx.get(f"{url}/processes/{sleeper.pid}")
                if resp.status_code == 200 and resp.json()["exe"] == "/bin/sleep":
                    break
                time.sleep(0.1)
            body = resp.json()
            assert body["argv"] == ["/bin/sleep", "30"] and body["fork_seen"] is True
            graph = httpx.get(f"{url}/graph/{sleeper.pid}").json()
            roles = {n["pid"]: n["role"] for n in graph["nodes"]}
            assert roles[sleeper.pid] == "self" and "ancestor" in roles.values()
        finally:
            sleeper.kill()
            sleeper.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and httpx.get(
                f"{url}/processes/{sleeper.pid}").status_code != 404:
            time.sleep(0.1)
        assert httpx.get(f"{url}/processes/{sleeper.pid}").status_code == 404  # it exited
    finally:
        service.shutdown(5)
