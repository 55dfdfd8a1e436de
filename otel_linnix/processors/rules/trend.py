"""Trends and time left: when a growing quantity will reach its limit, and how sure we are.

A projection from one burst (a server accepting 1500 connections at once) says "full in
200 s" and is wrong: the burst is over. A trend counts only when the quantity rose in most of
the intervals of the window, not in one step; then severity follows the time left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from otel_linnix.config.types import parse_duration
from otel_linnix.records import SEVERITIES

NS = 1_000_000_000


#: Severities in order, None (nothing found) lowest.
SEVERITY_RANK: dict[str | None, int] = {
    None: 0, **{name: rank for rank, name in enumerate(SEVERITIES, start=1)}}


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (t, v) points: a trend, robust to one noisy sample."""
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


def sustained_rise(values: Sequence[float]) -> bool:
    """A trend, not a burst: it rose in three steps or more (flat steps between them are fine:
    a leak allocating once a second, sampled twice a second), barely ever fell, no single
    step carries half of the rise, and it is still rising (an up step among the last two)."""
    steps = [b - a for a, b in zip(values, values[1:])]
    total = values[-1] - values[0] if values else 0
    ups = [i for i, step in enumerate(steps) if step > 0]
    if len(ups) < 3 or total <= 0:
        return False
    downs = sum(1 for step in steps if step < 0)
    return (downs <= 0.25 * len(steps) and max(steps) < 0.5 * total
            and ups[-1] >= len(steps) - 2)


def rising_run(values: Sequence[float]) -> int:
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
    def from_rule(cls, rule: dict) -> Urgency:
        return cls(parse_duration(rule["horizon"]), parse_duration(rule["critical_within"]),
                   float(rule["ratio"]), rule["severity"])

    def of(self, left_s: float, used: float = 0.0) -> str | None:
        if left_s <= self.critical_within or used >= self.ratio:
            return "critical"
        if left_s <= self.horizon:
            return self.severity
        return None
