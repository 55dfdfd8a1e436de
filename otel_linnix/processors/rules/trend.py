"""Trends and time left: when a growing quantity will reach its limit, and how sure we are.

A projection from one burst (a server accepting 1500 connections at once) says "full in
200 s" and is wrong: the burst is over. A trend counts only when the quantity rose in most of
the intervals of the window, not in one step; then severity follows the time left.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_linnix.config.types import parse_duration

NS = 1_000_000_000


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, v) points: a trend, robust to one noisy sample."""
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


def sustained_rise(values: list[float], min_share: float = 0.6) -> bool:
    """Rose in at least ``min_share`` of the steps, and is still rising: a burst that stopped
    (or one step among flat ones) is not a trend; exponential growth is."""
    steps = [b - a for a, b in zip(values, values[1:])]
    if len(steps) < 3 or values[-1] <= values[0] or steps[-1] <= 0:
        return False
    return sum(1 for s in steps if s > 0) >= min_share * len(steps)


def rising_run(values: list[float]) -> int:
    """How many of the last values rose step after step (a bomb's onset: every step up)."""
    run = 1
    while run < len(values) and values[-run] > values[-run - 1]:
        run += 1
    return run


def seconds_left(level: float, limit: float, growth_per_s: float) -> float:
    return (limit - level) / growth_per_s if growth_per_s > 0 else float("inf")


@dataclass(frozen=True)
class Urgency:
    """Severity by time left: ``critical`` within ``critical_within`` seconds or at ``ratio`` of
    the limit, the rule's own severity within ``horizon`` seconds, else nothing yet."""

    horizon: float
    critical_within: float
    ratio: float
    severity: str

    @classmethod
    def from_rule(cls, rule: dict) -> "Urgency":
        return cls(parse_duration(rule["horizon"]), parse_duration(rule["critical_within"]),
                   float(rule["ratio"]), rule["severity"])

    def of(self, left_s: float, used: float = 0.0) -> str | None:
        if left_s <= self.critical_within or used >= self.ratio:
            return "critical"
        if left_s <= self.horizon:
            return self.severity
        return None
