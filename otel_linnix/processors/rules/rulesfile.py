"""The rules file: YAML, validated with JSON Schema, errors naming the rule and the key."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from typing import Any

import yaml

from otel_linnix.config.errors import ConfigError
from otel_linnix.config.schema import check
from otel_linnix.config.types import DURATION, SIZE
from otel_linnix.processors.rules import linnixrules
from otel_linnix.processors.rules.engine import DETECTORS
from otel_linnix.records import SEVERITIES

#: Rule types: the detectors the engine has, one definition.
TYPES = tuple(DETECTORS)

_STRINGS = {"type": "array", "items": {"type": "string"}}
_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "type": {"enum": list(TYPES)},
        "severity": {"enum": list(SEVERITIES)},
        "enabled": {"type": "boolean"},
        "window": DURATION, "cooldown": DURATION, "min_duration": DURATION,
        "max_lifetime": DURATION, "horizon": DURATION, "critical_within": DURATION,
        "hold": {**DURATION, "description": "resolve only after the condition stayed clear "
                                            "this long (hysteresis)"},
        "min_rise": {"type": "integer", "minimum": 1,
                     "description": "fork_storm: live tasks a pool must gain to be growing"},
        "share": {"type": "number", "exclusiveMinimum": 0.5, "maximum": 1,
                  "description": "the culprit: smallest subtree holding this share of growth"},
        "rate_window": DURATION,
        "rate_floor_per_cpu": {"type": "number", "exclusiveMinimum": 0,
                               "description": "fork_storm: never a rate alert below this × CPUs"},
        "rate_factor": {"type": "number", "minimum": 1, "description":
                        "fork_storm: alert above this × the host's learned normal peak rate"},
        "rate_severity": {"enum": list(SEVERITIES)},
        "learn": {"type": "boolean", "description": "fork_storm: learn the host's normal rate "
                                                    "(false: the floor alone, as Linnix did)"},
        "threshold": {"type": "number", "exclusiveMinimum": 0},
        "resource": {"enum": ["cpu", "memory", "io"],
                     "description": "pressure: the resource whose stall (PSI) is judged"},
        "kind": {"enum": ["some", "full"], "description": "pressure: some task stalled, or "
                                                          "all non-idle tasks at once"},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "min_growth": SIZE,
        "scope": {"type": "object", "additionalProperties": False, "properties": {
            "comm": _STRINGS, "exclude_comm": _STRINGS, "exe": _STRINGS, "user": {
                "type": "array", "items": {"type": "integer"}},
            "cgroup": {"type": "string"}, "container": {"type": "string"}}},
    },
}
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["rules"],
          "properties": {"rules": {"type": "array", "items": _RULE}}}

DEFAULTS: dict[str, Any] = {"severity": "warning", "enabled": True, "window": "5s",
                            "cooldown": "60s", "min_duration": 0, "max_lifetime": "1s",
                            "horizon": "10m", "critical_within": "1m", "hold": "30s",
                            "threshold": 1, "ratio": 0.9, "min_growth": "1MiB", "min_rise": 20,
                            "share": 0.8, "rate_window": "5s", "rate_floor_per_cpu": 2500,
                            "rate_factor": 4, "rate_severity": "warning", "learn": True,
                            "resource": "cpu", "kind": "some",
                            "scope": {}}


def default_rules_text() -> str:
    return resources.files("otel_linnix.data").joinpath("rules", "default.yaml").read_text()


def parse(text: str, source: str) -> list[dict[str, Any]]:
    """Validated rules with defaults filled in; ConfigError naming ``rules[i](name).key``."""
    doc = _load_document(text, source)
    if linnixrules.is_linnix(doc):
        doc = linnixrules.convert(doc, source)
    problems = check(doc, SCHEMA)
    if problems:
        named = []
        for path, message in problems:
            if path.startswith("rules["):
                idx = int(path[6:path.index("]")])
                rule = doc["rules"][idx]
                name = rule.get("name", "?") if isinstance(rule, dict) else "?"
                path = f"{source}: rules[{idx}]({name}){path[path.index(']') + 1:]}"
            else:
                path = f"{source}: {path}"
            named.append((path, message))
        raise ConfigError(named)
    names = [r["name"] for r in doc["rules"]]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate rule names: {', '.join(dupes)}", source)
    return [_explicit_rate({**DEFAULTS, **rule}, rule) for rule in doc["rules"]
            if rule.get("enabled", True)]


def _explicit_rate(rule: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """A fork_storm written with a ``threshold`` (forks/s, as rules files before headroom
    judgement, and Linnix's, had it) keeps meaning exactly that rate, host-wide, unlearned."""
    if rule["type"] == "fork_storm" and "threshold" in written \
            and "rate_floor_per_cpu" not in written:
        rule["rate_floor_per_cpu"] = float(written["threshold"]) / (os.cpu_count() or 1)
        rule["rate_factor"], rule["learn"] = 1, False
    return rule


def _load_document(text: str, source: str) -> Any:
    """YAML, or TOML for a ``.toml`` file (Linnix's rules.toml)."""
    if source.endswith(".toml"):
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", source) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where) from None


def load(path: str | None, overrides: dict[str, dict] | None = None) -> list[dict[str, Any]]:
    if not path:
        rules = parse(default_rules_text(), "<default rules>")
    else:
        try:
            with open(path, encoding="utf-8") as fh:
                rules = parse(fh.read(), path)
        except OSError as exc:
            raise ConfigError(f"cannot read rules file: {exc}", path) from None
    return apply_overrides(rules, overrides or {})


def apply_overrides(rules: list[dict[str, Any]], overrides: dict[str, dict]
                    ) -> list[dict[str, Any]]:
    """Settings laid over every rule of a type, checked like the rule itself."""
    problems = [(f"overrides.{kind}", f"unknown rule type (known: {', '.join(TYPES)})")
                for kind in overrides if kind not in TYPES]
    out = []
    for rule in rules:
        extra = overrides.get(rule["type"])
        if extra:
            rule = {**rule, **extra}
            problems += check(rule, _RULE, ("overrides", rule["type"]))
        out.append(rule)
    if problems:
        raise ConfigError(problems)
    return out
