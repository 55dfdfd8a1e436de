"""The Alertmanager client: a bounded set of alerts to post, and a worker that posts them.

``consume`` only records an alert's newest state under a lock and returns: an unreachable
Alertmanager never slows the pipeline. The worker posts what changed, re-posts firing alerts
every ``resend_interval`` with ``endsAt`` four intervals ahead (Prometheus's own rhythm, so a
lost agent's alerts resolve by themselves), and posts a resolution with its ``endsAt``. While
Alertmanager is down the worker backs off (1 s doubling to 30 s) and keeps what it owes; one
alert id is one entry, so an outage never duplicates an alert and the owed set stays bounded
(``queue_size``; beyond it the oldest owed alert is dropped and counted).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

import httpx

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import parse_duration
from otel_linnix.exporters.alertmanager.payload import alert_json
from otel_linnix.exporters.otlpcommon.ids import span_id, trace_id_of
from otel_linnix.records import Alert, Record, process_key

MAX_BACKOFF_S = 30.0


class AlertmanagerExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._id = settings.id
        self._endpoints = [u.rstrip("/") for u in config.get("endpoints") or [config["endpoint"]]]
        self._config = config
        self._resend_s = parse_duration(config["resend_interval"])
        self._max = config["queue_size"]
        self._owed: OrderedDict[str, Alert] = OrderedDict()  # id → newest state, to post
        self._firing: dict[str, tuple[Alert, float]] = {}  # id → (alert, next re-post)
        self._lock = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"exporter-{self._id}",
                                        daemon=True)
        t = self._ctx.telemetry
        labels = (("exporter", self._id),)
        self._labels = labels
        self._sent = t.counter("otel_linnix.alertmanager.sent", "Alerts Alertmanager accepted")
        self._failed = t.counter("otel_linnix.alertmanager.failed",
                                 "Posts to Alertmanager that failed (retried)")
        self._dropped = t.counter("otel_linnix.exporter.dropped",
                                  "Records an exporter gave up on")
        t.gauge("otel_linnix.alertmanager.owed", "Alerts waiting to be posted",
                callback=lambda: len(self._owed))
        self._client: httpx.Client | None = None
        self._last_warning = 0.0

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._client = httpx.Client(timeout=parse_duration(self._config["timeout"]),
                                    headers=self._auth_headers(), auth=self._basic_auth(),
                                    verify=self._verify(), cert=self._cert())
        self._thread.start()

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        alerts = [r for r in records if type(r) is Alert]
        if not alerts:
            return
        with self._lock:
            for alert in alerts:
                self._owed.pop(alert.id, None)
                self._owed[alert.id] = alert
                if len(self._owed) > self._max:
                    self._owed.popitem(last=False)
                    self._dropped.add(1, self._labels + (("reason", "queue_full"),))
            self._lock.notify()

    def force_flush(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._owed and not self._stopped:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._client is not None:
            self._client.close()

    # ---- worker ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while True:
            batch = self._next_batch(backoff)
            if batch is None:
                self._last_post()
                return
            if self._post(batch):
                backoff = 0.0
                self._done(batch)
            else:
                backoff = min(MAX_BACKOFF_S, backoff * 2 if backoff else 1.0)
                self._give_back(batch)

    def _next_batch(self, backoff: float) -> list[Alert] | None:
        """Once ``backoff`` has passed: the owed alerts, then firing ones due again (waits for
        either); None when stopping."""
        retry_at = time.monotonic() + backoff
        with self._lock:
            while not self._stopped:
                now = time.monotonic()
                if now < retry_at:
                    self._lock.wait(retry_at - now)
                elif self._owed or self._due(now):
                    break
                else:
                    self._lock.wait(self._until_resend(now))
            if self._stopped:
                return None
            batch = list(self._owed.values())
            self._owed.clear()
            owed_ids = {a.id for a in batch}
            now = time.monotonic()
            batch += [a for key, (a, due) in self._firing.items()
                      if due <= now and key not in owed_ids]
            self._lock.notify_all()  # force_flush waits for the owed set to drain
            return batch

    def _due(self, now: float) -> bool:
        return any(due <= now for _, due in self._firing.values())

    def _until_resend(self, now: float) -> float:
        if not self._firing:
            return 3600.0
        return max(0.01, min(due for _, due in self._firing.values()) - now)

    def _last_post(self) -> None:
        """At shutdown, one attempt at what is still owed (a resolution, most often)."""
        with self._lock:
            batch = list(self._owed.values())
            self._owed.clear()
        if batch and not self._post(batch):
            self._dropped.add(len(batch), self._labels + (("reason", "shutdown"),))

    def _done(self, batch: list[Alert]) -> None:
        next_due = time.monotonic() + self._resend_s
        with self._lock:
            for alert in batch:
                if alert.state == "firing":
                    if alert.id not in self._owed:
                        self._firing[alert.id] = (alert, next_due)
                else:
                    self._firing.pop(alert.id, None)
            while len(self._firing) > self._max:
                self._firing.pop(next(iter(self._firing)))
                self._dropped.add(1, self._labels + (("reason", "too_many_firing"),))

    def _give_back(self, batch: list[Alert]) -> None:
        """A failed post: owe the batch again, keeping any newer state consume() brought."""
        with self._lock:
            for alert in reversed(batch):
                if alert.id not in self._owed:
                    self._owed[alert.id] = alert
                    self._owed.move_to_end(alert.id, last=False)
            while len(self._owed) > self._max:
                self._owed.popitem(last=False)
                self._dropped.add(1, self._labels + (("reason", "queue_full"),))

    def _post(self, batch: list[Alert]) -> bool:
        body = [self._payload(alert) for alert in batch]
        accepted = 0
        for endpoint in self._endpoints:
            try:
                resp = self._client.post(f"{endpoint}/api/v2/alerts", json=body)
            except httpx.HTTPError as exc:
                self._failed.add(1, self._labels)
                self._warn(f"{endpoint} unreachable ({exc}); retrying")
                continue
            if resp.status_code < 300:
                accepted += 1
            elif 400 <= resp.status_code < 500:  # a bad alert will not get better: drop it
                self._dropped.add(len(batch), self._labels + (("reason", "rejected"),))
                self._warn(f"{endpoint} rejected {len(batch)} alerts: HTTP {resp.status_code} "
                           f"{resp.text[:200]}")
                return True
            else:
                self._failed.add(1, self._labels)
                self._warn(f"{endpoint} answered HTTP {resp.status_code}; retrying")
        if accepted:
            self._sent.add(len(batch), self._labels)
        return accepted > 0

    def _payload(self, alert: Alert) -> dict:
        host = self._ctx.host
        if alert.state == "firing":  # holds until four re-posts are missed
            ends = time.time_ns() + int(4 * self._resend_s * 1e9)
        else:
            ends = host.wall_ns(alert.last_seen_ns)
        subject = alert.subject
        trace = sid = None
        if subject.pid and subject.start_ns:
            key = process_key(subject.pid, subject.start_ns)
            trace = trace_id_of(self._ctx.process_table, host.boot_id, key)
            sid = span_id(host.boot_id, key)
        return alert_json(alert, host, self._config["labels"], ends, trace, sid,
                          self._config["trace_url"])

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            self._log.warning("exporters.%s: %s", self._id, message)

    # ---- config --------------------------------------------------------------------------

    def _secret(self, spec: dict | None) -> str | None:
        if not spec:
            return None
        if spec.get("file"):
            with open(spec["file"], encoding="utf-8") as fh:
                return fh.read().strip()
        return os.environ.get(spec.get("env", ""), "") or None

    def _auth_headers(self) -> dict[str, str]:
        token = self._secret(self._config.get("bearer_token"))
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _basic_auth(self):
        basic = self._config.get("basic_auth")
        if not basic:
            return None
        return httpx.BasicAuth(basic["username"], self._secret(basic.get("password")) or "")

    def _verify(self):
        tls = self._config["tls"]
        if tls.get("insecure_skip_verify"):
            return False
        return tls.get("ca_file") or True

    def _cert(self):
        tls = self._config["tls"]
        return (tls["cert_file"], tls["key_file"]) if tls.get("cert_file") else None
