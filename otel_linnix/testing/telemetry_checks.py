"""Small helpers for exporter tests: read a telemetry counter, wait for a condition."""

from __future__ import annotations

import time


def counted(ctx, name: str, **labels) -> float:
    """Sum of ``name``'s points whose labels include ``labels`` (0 if never created)."""
    metric = ctx.telemetry.get(name)
    if metric is None:
        return 0
    return sum(p.value for p in metric.points()
               if all(dict(p.labels).get(k) == v for k, v in labels.items()))


def wait(predicate, timeout: float = 15.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
