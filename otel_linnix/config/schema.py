"""JSON Schema validation with errors that name the path and say what to write instead."""

from __future__ import annotations

import copy
import difflib
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from otel_linnix.config.errors import format_path
from otel_linnix.config.types import DURATION

_PIPELINE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["receivers", "exporters"],
    "properties": {
        "receivers": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "processors": {"type": "array", "items": {"type": "string"}},
        "exporters": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
}
_SECTION = {"type": ["object", "null"], "additionalProperties": {"type": ["object", "null"]}}

#: The document's outer shape; each component's own config is checked by its factory's schema.
TOP_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service"],
    "properties": {
        "receivers": _SECTION,
        "processors": _SECTION,
        "exporters": _SECTION,
        "extensions": _SECTION,
        "service": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pipelines"],
            "properties": {
                "extensions": {"type": "array", "items": {"type": "string"}},
                "pipelines": {"type": "object", "minProperties": 1,
                              "additionalProperties": _PIPELINE},
                "offline": {"type": "boolean",
                            "description": "no outbound call except to configured exporters "
                                           "(Linnix's runtime.offline: disables the LLM)"},
                "process_table": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"capacity": {"type": "integer", "minimum": 16}},
                },
                "shutdown_timeout": DURATION,
                "telemetry": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "logs": {
                            "type": "object", "additionalProperties": False,
                            "properties": {
                                "level": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]}},
                        },
                        "metrics": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"interval": {**DURATION, "description": (
                                "how often the agent's own metrics go to every metrics "
                                "pipeline's exporters (and once more at shutdown); 0: never")}},
                        },
                    },
                },
            },
        },
    },
}

SERVICE_DEFAULTS = {"offline": False, "process_table": {"capacity": 65536},
                    "shutdown_timeout": "4s", "telemetry": {"metrics": {"interval": "10s"}}}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of a copy of ``base``; nested mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    schema, instance = error.schema, error.instance
    if not isinstance(instance, dict):
        return []
    known = set(schema.get("properties", {}))
    patterns = schema.get("patternProperties", {})
    import re

    return sorted(k for k in instance
                  if k not in known and not any(re.search(p, k) for p in patterns))


def _describe(error: jsonschema.ValidationError, base: tuple) -> list[tuple[str, str]]:
    path = base + tuple(error.absolute_path)
    if error.validator == "additionalProperties" and error.schema.get("additionalProperties") is False:
        known = sorted(error.schema.get("properties", {}))
        out = []
        for key in _unknown_keys(error):
            hint = difflib.get_close_matches(key, known, n=1)
            tail = f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(known)})"
            out.append((format_path(path + (key,)), f"unknown key{tail}"))
        return out
    if error.validator == "required":
        return [(format_path(path), error.message.replace("'", "", 2))]
    if error.validator == "anyOf" and "description" in error.schema:
        return [(format_path(path), f"{error.instance!r} is not a valid "
                                    f"{error.schema['description']}")]
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [(format_path(path), f"must be {expected}, not {type(error.instance).__name__} "
                                    f"({error.instance!r})")]
    return [(format_path(path), error.message)]


def check(instance: Any, schema: dict[str, Any], base: tuple = ()) -> list[tuple[str, str]]:
    """All problems of ``instance`` against ``schema`` as (path, message), shallowest first."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path),
                                                                   list(map(str, e.absolute_path))))
    problems: list[tuple[str, str]] = []
    for error in errors:
        problems.extend(_describe(error, base))
    return problems
