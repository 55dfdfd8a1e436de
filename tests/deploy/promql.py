"""Pull PromQL expressions out of Grafana dashboards and the metric names out of PromQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
             "and", "or", "unless", "inf", "nan"}


def panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panels(panel)  # rows may nest panels


def prometheus_targets(path: Path) -> Iterator[tuple[str, dict, dict]]:
    """(panel title, panel, target) for every Prometheus query in a dashboard file."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            ds = target.get("datasource") or panel.get("datasource") or {}
            if ds.get("type") == "prometheus" and target.get("expr"):
                yield panel.get("title", "?"), panel, target


def expand_variables(expr: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (label names, functions and keywords removed)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    return {m for m in _IDENT.findall(text) if m.lower() not in _KEYWORDS}


def dashboard_variables(path: Path) -> dict[str, str]:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for var in dashboard.get("templating", {}).get("list", []):
        current = var.get("current", {}).get("value")
        out[var["name"]] = current if current is not None else var.get("query", "")
    return out
