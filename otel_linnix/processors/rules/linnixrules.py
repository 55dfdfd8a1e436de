"""Linnix's own rules files (``rules.yaml`` / ``rules.toml``: a list of ``detector:`` entries)
mapped onto otel-linnix rules, so a Linnix install's thresholds keep meaning what they meant.

A Linnix threshold is an explicit choice, so it is honoured as written: ``forks_per_sec`` becomes
a fork_storm whose rate alert fires at exactly that host rate (no learned baseline), on top of the
headroom judgement every fork_storm makes. Detectors with no equivalent yet are an error naming
the rule: silently dropping a rule the user believes is active would be worse. Linnix's
subtree_* detectors become their per-process counterparts (cpu_spike, rss_high), and its
system_psi_* detectors host-wide ``pressure`` rules on the same PSI figure.
"""

from __future__ import annotations

from typing import Any

from otel_linnix.config.errors import ConfigError

SEVERITY = {"info": "info", "low": "info", "medium": "warning", "high": "critical"}
UNSUPPORTED = {"exec_rate", "zombie_count"}
#: Linnix's system PSI detectors: (resource, stall kind) of the avg10 they compared.
PSI = {"system_psi_cpu": ("cpu", "some"), "system_psi_memory": ("memory", "full"),
       "system_psi_io": ("io", "full")}


def is_linnix(doc: Any) -> bool:
    rules = doc.get("rules") if isinstance(doc, dict) else doc
    return isinstance(rules, list) and any(isinstance(r, dict) and "detector" in r for r in rules)


def convert(doc: Any, source: str) -> dict[str, list[dict[str, Any]]]:
    rules = (doc.get("rules") if isinstance(doc, dict) else doc) or []
    out, problems = [], []
    for i, raw in enumerate(rules):
        where = f"{source}: rules[{i}]({raw.get('name', '?') if isinstance(raw, dict) else '?'})"
        try:
            out.append(_rule(raw))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append((where, _why(exc)))
    if problems:
        raise ConfigError(problems)
    return {"rules": out}


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"Linnix rule misses {exc.args[0]!r}"
    return str(exc)


def _rule(raw: dict) -> dict[str, Any]:
    detector = raw["detector"]
    base = {"name": _name(raw["name"]), "severity": SEVERITY.get(str(raw.get("severity", "info")),
                                                                 "info"),
            "cooldown": f"{int(raw.get('cooldown', 60))}s"}
    if detector == "forks_per_sec":  # a written threshold: that rate, unlearned (rulesfile)
        seconds = max(1, int(raw["duration"]))
        return {**base, "type": "fork_storm", "threshold": float(raw["threshold"]),
                "rate_window": f"{seconds}s", "min_duration": 0,
                "rate_severity": base["severity"]}
    if detector in ("fork_burst", "runaway_tree"):
        return {**base, "type": detector, "threshold": int(raw["threshold"]),
                "window": f"{int(raw['window_seconds'])}s"}
    if detector == "short_job_flood":
        return {**base, "type": "short_job_flood", "threshold": int(raw["threshold"]),
                "window": f"{int(raw['window_seconds'])}s",
                "max_lifetime": f"{int(raw.get('max_exec_duration_ms', 1000))}ms"}
    if detector == "subtree_cpu_pct":
        return {**base, "type": "cpu_spike", "threshold": float(raw["threshold"]) / 100,
                "window": f"{int(raw['duration'])}s"}
    if detector == "subtree_rss_mb":
        return {**base, "type": "rss_high", "threshold": int(raw["threshold"]) * 2**20,
                "window": f"{int(raw['duration'])}s"}
    if detector in PSI:  # Linnix: avg10 above threshold_pct for `duration` seconds
        resource, kind = PSI[detector]
        return {**base, "type": "pressure", "resource": resource, "kind": kind,
                "threshold": float(raw["threshold_pct"]) / 100, "window": "10s",
                "min_duration": f"{int(raw['duration'])}s"}
    if detector in UNSUPPORTED:
        raise ValueError(f"Linnix detector {detector!r} has no otel-linnix equivalent yet")
    raise ValueError(f"unknown Linnix detector {detector!r}")


def _name(name: str) -> str:
    """Linnix names are free text; ours are identifiers."""
    out = "".join(c if c.isalnum() else "_" for c in str(name).lower()).strip("_")
    return out if out[:1].isalpha() else f"r_{out}"
