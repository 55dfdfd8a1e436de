"""The ``llm_annotate`` processor: alerts pass through at once; explanations follow.

An alert at or above ``min_severity`` is queued (bounded, drops counted) for a worker that asks
the model; the pipeline never waits. A finished annotation is stored on the alert in the
alert store (same id: the API shows it) and the annotated alert is handed downstream with the
next batch, so exporters ship a log record carrying the explanation. Whatever goes wrong —
offline, budget, breaker, timeout, garbage — yields the rule-based fallback, marked as such.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from otel_linnix.component import CreateSettings, Processor
from otel_linnix.config.types import parse_duration
from otel_linnix.processors.llm_annotate import fallback, prompt, reply
from otel_linnix.processors.llm_annotate.client import ChatClient, LLMError
from otel_linnix.processors.llm_annotate.facts import build_facts
from otel_linnix.processors.llm_annotate.guard import Guard
from otel_linnix.records import SEVERITIES, Alert, Record

_STOP = object()


class LLMAnnotateProcessor(Processor):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._config = config
        self.offline = bool(config["offline"] or self._ctx.settings.get("offline"))
        self._min = SEVERITIES.index(config["min_severity"])
        self._queue: queue.Queue = queue.Queue(maxsize=config["queue_size"])
        self._done: deque[Alert] = deque(maxlen=config["queue_size"])
        self._recent: deque[dict] = deque(maxlen=200)
        self._guard = Guard(config["budget"]["requests_per_hour"],
                            config["budget"]["tokens_per_hour"],
                            parse_duration(config["budget"]["min_interval"]),
                            config["breaker"]["failures"],
                            parse_duration(config["breaker"]["cooloff"]))
        self._client = None if self.offline or not config["endpoint"] else ChatClient(
            config["endpoint"], config["model"], os.environ.get(config["api_key_env"] or "") or None,
            parse_duration(config["timeout"]), config["max_tokens"])
        self._workers: list[threading.Thread] = []
        t = self._ctx.telemetry
        self._requests = t.counter("otel_linnix.llm.requests", "Requests sent to the LLM")
        self._failures = t.counter("otel_linnix.llm.failures", "LLM requests that failed, by reason")
        self._fallbacks = t.counter("otel_linnix.llm.fallbacks", "Alerts explained by the fallback")
        self._dropped = t.counter("otel_linnix.llm.dropped", "Alerts not annotated (queue full)")
        self._tokens = t.counter("otel_linnix.llm.tokens", "Tokens spent")

    def start(self) -> None:
        for i in range(self._config["concurrency"]):
            worker = threading.Thread(target=self._work, name=f"llm-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        self._ctx.provide("insights", self)

    def shutdown(self, timeout: float = 5.0) -> None:
        for _ in self._workers:
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                pass
        for worker in self._workers:
            worker.join(timeout / max(1, len(self._workers)))
        self._workers.clear()
        if self._client is not None:
            self._client.close()
        self._ctx.withdraw("insights", self)

    def process(self, records: Sequence[Record]) -> Sequence[Record]:
        for rec in records:
            if (type(rec) is Alert and rec.state == "firing" and rec.annotation is None
                    and SEVERITIES.index(rec.severity) >= self._min):
                try:
                    self._queue.put_nowait(rec)
                except queue.Full:
                    self._dropped.add()
        if not self._done:
            return records
        finished = []
        while self._done:
            finished.append(self._done.popleft())
        return [*records, *finished]

    # ---- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is _STOP:
                return
            annotation = self.annotate(alert)
            annotated = replace(alert, annotation=annotation)
            self._ctx.alerts.add(annotated)
            if len(self._done) == self._done.maxlen:  # nobody drained: the oldest goes, counted
                self._dropped.add()
            self._done.append(annotated)
            self._recent.append({"alert_id": alert.id, "rule": alert.rule, **annotation})

    def annotate(self, alert: Alert) -> dict:
        facts = build_facts(alert, self._ctx)
        if self._client is None:
            return self._fallback(alert, "offline" if self.offline else "no endpoint")
        refusal = self._guard.refusal()
        if refusal is not None:
            return self._fallback(alert, refusal)
        return self._ask(alert, facts)

    def _ask(self, alert: Alert, facts: dict[str, str]) -> dict:
        self._requests.add()
        try:
            content, tokens = self._client.chat(prompt.messages(facts))
            self._tokens.add(tokens)
            answer = reply.parse(content, set(facts))
        except (LLMError, reply.BadReply) as exc:
            reason = exc.reason if isinstance(exc, LLMError) else "bad_reply"
            self._guard.failed()
            self._failures.add(1, (("reason", reason),))
            self._log.warning("llm_annotate: %s (%s); using the rule-based explanation", exc, reason)
            return self._fallback(alert, f"{reason}: {exc}")
        self._guard.succeeded(tokens)
        return {**answer, "facts": {k: facts[k] for k in answer["cited_facts"]},
                "source": "llm", "model": self._config["model"]}

    def _fallback(self, alert: Alert, reason: str) -> dict:
        self._fallbacks.add(1, (("reason", reason.split(":")[0]),))
        return fallback.explain(alert, reason)

    # ---- InsightsProvider (the API's /insights) --------------------------------------------

    def status(self) -> dict:
        return {"enabled": True, "offline": self.offline, "model": self._config["model"],
                "endpoint": self._client.url if self._client else None,
                "queued": self._queue.qsize(), **self._guard.status()}

    def recent(self, limit: int = 50) -> list[dict]:
        return list(self._recent)[-limit:]

    def analyze(self, timeout: float | None = None) -> dict:
        firing = self._ctx.alerts.firing()
        if not firing:
            return {"summary": "no alerts are firing", "source": "state"}
        worst = max(firing, key=lambda a: SEVERITIES.index(a.severity))
        started = time.monotonic()
        answer = self.annotate(worst)
        return {**answer, "alerts_firing": len(firing), "about": worst.id,
                "seconds": round(time.monotonic() - started, 2)}
