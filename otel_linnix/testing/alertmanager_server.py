"""A real Alertmanager for tests: Debian's ``prometheus-alertmanager`` on 127.0.0.1, with a
webhook receiver (a small HTTP server in the test process) as its only route — the hook that
Slack, PagerDuty and e-mail integrations hang off. Clustering is off; every wait is bounded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import yaml

from otel_linnix.testing.otlp_server import free_port
from otel_linnix.testing.prometheus_server import stop_process
from otel_linnix.testing.readiness import wait_until_ok

ALERTMANAGER = os.environ.get("ALERTMANAGER_BIN") or shutil.which(
    "prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def alertmanager_unavailable_reason() -> str | None:
    if not os.access(ALERTMANAGER, os.X_OK):
        return f"{ALERTMANAGER} not found (./scripts/setup.sh installs prometheus-alertmanager)"
    return None


class Webhook:
    """Collects the notifications Alertmanager posts (its webhook JSON, one per group)."""

    def __init__(self) -> None:
        self.notifications: list[dict] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Alertmanager:
    """A running (and restartable) Alertmanager with its API helpers."""

    def __init__(self, workdir: str, webhook: Webhook) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.webhook = webhook
        self.proc: subprocess.Popen | None = None
        config = {"route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "100ms",
                            "group_interval": "1s", "repeat_interval": "1h"},
                  "receivers": [{"name": "hook", "webhook_configs": [
                      {"url": webhook.url, "send_resolved": True}]}]}
        self.config_path = os.path.join(workdir, "alertmanager.yml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)

    def start(self, ready_timeout: float = 30.0) -> None:
        self._log = open(os.path.join(self.workdir, "alertmanager.log"), "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={self.config_path}",
             f"--storage.path={os.path.join(self.workdir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir)
        wait_until_ok(f"{self.url}/-/ready", self.proc, "alertmanager", ready_timeout,
                      interval=0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)
            self._log.close()

    def alerts(self) -> list[dict]:
        """Alerts Alertmanager holds as active (its API leaves resolved ones out)."""
        return httpx.get(f"{self.url}/api/v2/alerts", timeout=5).json()

    def wait_for(self, predicate, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.alerts() if predicate(a)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)


@contextmanager
def alertmanager_server() -> Iterator[Alertmanager]:
    workdir = tempfile.mkdtemp(prefix="otel-linnix-am-")
    webhook = Webhook()
    server = Alertmanager(workdir, webhook)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        webhook.close()
        shutil.rmtree(workdir, ignore_errors=True)
