"""Spend and failure limits: hourly request and token budgets, a minimum interval between
requests, and a circuit breaker that stops calling after repeated failures for a cool-off."""

from __future__ import annotations

import threading
import time
from collections import deque


class Guard:
    def __init__(self, requests_per_hour: int, tokens_per_hour: int, min_interval: float,
                 breaker_failures: int, breaker_cooloff: float) -> None:
        self.requests_per_hour = requests_per_hour
        self.tokens_per_hour = tokens_per_hour
        self.min_interval = min_interval
        self.breaker_failures = breaker_failures
        self.breaker_cooloff = breaker_cooloff
        self._requests: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._last = 0.0
        self._failures = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._requests and self._requests[0] < now - 3600:
            self._requests.popleft()
        while self._tokens and self._tokens[0][0] < now - 3600:
            self._tokens.popleft()

    def refusal(self) -> str | None:
        """Why a request may not be made now (None: go ahead, and it is counted)."""
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            if now < self._open_until:
                return "circuit_open"
            if len(self._requests) >= self.requests_per_hour:
                return "request_budget"
            if sum(t for _, t in self._tokens) >= self.tokens_per_hour:
                return "token_budget"
            if now - self._last < self.min_interval:
                return "rate_limited"
            self._last = now
            self._requests.append(now)
            return None

    def succeeded(self, tokens: int) -> None:
        with self._lock:
            self._failures = 0
            self._tokens.append((time.monotonic(), tokens))

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.breaker_failures:
                self._open_until = time.monotonic() + self.breaker_cooloff
                self._failures = 0

    def status(self) -> dict:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            return {"requests_left_this_hour": self.requests_per_hour - len(self._requests),
                    "tokens_left_this_hour": self.tokens_per_hour - sum(t for _, t in self._tokens),
                    "breaker": "open" if now < self._open_until else "closed"}
