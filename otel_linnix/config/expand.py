"""``${env:NAME}`` and ``${env:NAME:-default}`` expansion in config values, as the Collector does.

Expansion happens on parsed values (not on the raw text), so a value can never inject YAML
structure. A value that is exactly one reference is re-read as a YAML scalar, so
``port: ${env:PORT}`` yields an integer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from otel_linnix.config.errors import ConfigError, format_path

_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")
_MALFORMED = re.compile(r"\$\{(?!env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})[^}]*\}?")


def expand(value: Any, env: Mapping[str, str] | None = None, path: tuple = ()) -> Any:
    """Return ``value`` with every reference replaced; unset variables without default fail."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {k: expand(v, env, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env, path + (i,)) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        return _expand_string(value, env, path)
    return value


def _expand_string(text: str, env: Mapping[str, str], path: tuple) -> Any:
    bad = _MALFORMED.search(_REF.sub("", text))
    if bad:
        raise ConfigError(f"malformed reference {bad.group(0)!r} "
                          "(use ${env:NAME} or ${env:NAME:-default})", format_path(path))

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is not set "
                          f"(set it or write ${{env:{name}:-default}})", format_path(path))

    whole = _REF.fullmatch(text)
    result = _REF.sub(replace, text)
    if whole and whole.group(0) != "$$":
        try:
            scalar = yaml.safe_load(result) if result.strip() else result
        except yaml.YAMLError:
            return result
        return scalar if isinstance(scalar, (str, int, float, bool)) else result
    return result
