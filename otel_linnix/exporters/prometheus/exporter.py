"""The ``prometheus`` exporter: serves the agent's collector on a scrape endpoint.

Scrapes are served by prometheus-client's own WSGI server on a daemon thread; ``consume`` only
counts forks / execs / exits, and only when no receiver already does (the eBPF receiver counts
them itself; the replay receiver does not), so the host totals exist exactly once in
``ctx.telemetry`` and the API's ``/metrics`` shows the same numbers as this endpoint.
"""

from __future__ import annotations

import threading
import weakref
from typing import Sequence

from prometheus_client import start_http_server

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import is_loopback
from otel_linnix.exporters.prometheus.collector import build_registry
from otel_linnix.records import ProcessExec, ProcessExit, ProcessStart, Record
from otel_linnix.telemetry import Telemetry

#: The host totals (the names the eBPF receiver counts under).
HOST_TOTALS = {
    ProcessStart: ("otel_linnix.process.forks", "Processes forked"),
    ProcessExec: ("otel_linnix.process.execs", "Successful execs"),
    ProcessExit: ("otel_linnix.process.exits", "Processes exited"),
}
#: Telemetries whose host totals an exporter (not a receiver) counts.
_COUNTED_HERE: "weakref.WeakKeyDictionary[Telemetry, bool]" = weakref.WeakKeyDictionary()
_decide_lock = threading.Lock()


def _host_counters(telemetry: Telemetry):
    """The counters to add to, or None when a receiver already counts the host totals."""
    with _decide_lock:
        first_name = HOST_TOTALS[ProcessStart][0]
        if telemetry.get(first_name) is not None and not _COUNTED_HERE.get(telemetry):
            return None
        _COUNTED_HERE[telemetry] = True
        return {kind: telemetry.counter(name, desc) for kind, (name, desc) in HOST_TOTALS.items()}


class PrometheusExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        host, _, port = config["endpoint"].rpartition(":")  # schema-checked; port 0 = any
        self._host, self._port = host.strip("[]"), int(port)
        self.registry = build_registry(self._ctx, top_n=config["top_n"],
                                       namespace=config["namespace"],
                                       process_metrics=config["process_metrics"])
        self._counters = None
        self._decided = False
        self._server = None
        self._thread = None
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
        if signal is not Signal.METRICS:
            return
        if not self._decided:
            self._counters, self._decided = _host_counters(self._ctx.telemetry), True
        counters = self._counters
        if counters is None:
            return
        tally = {ProcessStart: 0, ProcessExec: 0, ProcessExit: 0}
        for rec in records:
            kind = type(rec)
            if kind in tally:
                tally[kind] += 1
        for kind, n in tally.items():
            if n:
                counters[kind].add(n)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
