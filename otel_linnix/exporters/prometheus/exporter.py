"""The ``prometheus`` exporter: serves the agent's collector on a scrape endpoint.

Scrapes are served by prometheus-client's own WSGI server on a daemon thread. The host's fork /
exec / exit totals are counted once, by the receivers (``receivers/hosttotals.py``), so two
exporters never double them and the API's ``/metrics`` shows the same numbers as this endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from prometheus_client import start_http_server

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import is_loopback
from otel_linnix.exporters.prometheus.collector import build_registry
from otel_linnix.records import Record


class PrometheusExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        host, _, port = config["endpoint"].rpartition(":")  # schema-checked; port 0 = any
        self._host, self._port = host.strip("[]"), int(port)
        self.registry = build_registry(self._ctx, top_n=config["top_n"],
                                       namespace=config["namespace"],
                                       process_metrics=config["process_metrics"])
        self._ctx.provide("metrics_registry", self.registry)  # the API's /metrics too
        self._server: Any = None
        self._thread: Any = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port actually bound (real even when the config said 0)."""
        return self._server.server_port if self._server is not None else self._port

    @property
    def address(self) -> tuple[str, int]:
        return self._host, self.port

    def start(self) -> None:
        if not is_loopback(self._host):
            self._log.info("prometheus endpoint listens on %s:%d (not loopback): anyone who can "
                           "reach it can read process names", self._host, self._port)
        try:
            self._server, self._thread = start_http_server(self._port, self._host, self.registry)
        except OSError as exc:
            raise RuntimeError(f"prometheus: cannot listen on {self._host}:{self._port}: "
                               f"{exc.strerror or exc}") from exc
        self._log.info("prometheus metrics on http://%s:%d/metrics", *self.address)

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        """Nothing to do per batch: a scrape reads the agent's live state."""

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
