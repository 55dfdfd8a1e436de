"""A real Prometheus server for tests: Debian's ``prometheus`` binary on 127.0.0.1.

Started with a temporary config (scraping the given targets every ``scrape_interval``) and a
temporary TSDB directory; stopped and cleaned up on exit. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import yaml

from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.readiness import wait_until_ok

PROMETHEUS = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus") or "/usr/bin/prometheus"


def prometheus_unavailable_reason() -> str | None:
    if not os.access(PROMETHEUS, os.X_OK):
        return f"{PROMETHEUS} not found (./scripts/setup.sh installs Debian's prometheus)"
    return None


class PrometheusServer:
    """Handle on a running server: its base URL and the HTTP API helpers tests need."""

    def __init__(self, url: str, proc: subprocess.Popen, log_path: str) -> None:
        self.url = url
        self.proc = proc
        self.log_path = log_path
        self.http = httpx.Client(base_url=url, timeout=10.0)

    def query(self, expr: str) -> list[dict]:
        """Instant query; raises with Prometheus's own error text when the expression is bad."""
        body = self.http.get("/api/v1/query", params={"query": expr}).json()
        if body.get("status") != "success":
            raise ValueError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout: float = 30.0, interval: float = 0.5) -> list[dict]:
        """Poll ``expr`` until it returns data; [] when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(interval)

    def targets(self) -> list[dict]:
        return self.http.get("/api/v1/targets").json()["data"]["activeTargets"]

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def scrape_config(targets: dict[str, list[str]], scrape_interval: str = "1s") -> dict:
    """A Prometheus config: one job per entry of ``targets`` (job name → host:port list)."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": addrs}]}
                           for job, addrs in targets.items()],
    }


@contextmanager
def prometheus_server(targets: dict[str, list[str]], scrape_interval: str = "1s",
                      ready_timeout: float = 30.0) -> Iterator[PrometheusServer]:
    """Run Prometheus scraping ``targets`` until the block ends."""
    workdir = tempfile.mkdtemp(prefix="otel-linnix-prom-")
    config_path = os.path.join(workdir, "prometheus.yml")
    with open(config_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(scrape_config(targets, scrape_interval), f)
    log_path = os.path.join(workdir, "prometheus.log")
    log = open(log_path, "w", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config_path}",
         f"--storage.tsdb.path={os.path.join(workdir, 'data')}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = PrometheusServer(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        server.http.close()
        stop_process(proc)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_ready(server: PrometheusServer, timeout: float) -> None:
    wait_until_ok(f"{server.url}/-/ready", server.proc, "prometheus", timeout,
                  detail=lambda: "\n" + server.log_tail())
