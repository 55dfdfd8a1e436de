"""Reading a config file: YAML pipelines, or Linnix's ``linnix.toml`` mapped onto the same model."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from otel_linnix.config.errors import ConfigError
from otel_linnix.config.expand import expand
from otel_linnix.config.linnix import from_linnix_toml

DEFAULT_PIPELINE = "default.yaml"


def default_pipeline_text() -> str:
    """The embedded default pipeline (``pipelines/default.yaml`` links to the same file)."""
    return resources.files("otel_linnix.data").joinpath("pipelines", DEFAULT_PIPELINE).read_text()


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source) from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source) from None


def load(path: str | None, env=None) -> dict[str, Any]:
    """The raw, env-expanded config document (not yet validated)."""
    return load_document(path, env)[0]


def load_document(path: str | None, env=None) -> tuple[dict[str, Any], list[str]]:
    """The raw, env-expanded config document (not yet validated), and warnings about settings
    it carries that have no effect here (a linnix.toml's sections with no equivalent)."""
    warnings: list[str] = []
    if path is None:
        raw = parse_yaml(default_pipeline_text(), "<embedded default>")
    else:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        if file.suffix == ".toml":  # expanded before mapping, once: $${env:X} stays literal
            raw, warnings = from_linnix_toml(expand(parse_toml(text, path), env))
            return raw, warnings
        raw = parse_yaml(text, path)
    if raw is None:
        raise ConfigError("config is empty", path or "")
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a mapping, not {type(raw).__name__}", path or "")
    return expand(raw, env), warnings
