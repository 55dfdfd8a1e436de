"""Configuration: load (YAML or linnix.toml), expand ``${env:...}``, validate every component."""

from otel_linnix.config.errors import ConfigError
from otel_linnix.config.loader import load, load_document
from otel_linnix.config.model import ComponentSpec, Config, Pipeline, build


def load_config(path: str | None = None, env=None) -> Config:
    """The checked config for ``path`` (None: the embedded default pipeline)."""
    raw, warnings = load_document(path, env)
    config = build(raw)
    config.warnings[:0] = warnings
    return config


__all__ = ["ComponentSpec", "Config", "ConfigError", "Pipeline", "build", "load", "load_config",
           "load_document"]
