"""Configuration: load (YAML or linnix.toml), expand ``${env:...}``, validate every component."""

from otel_linnix.config.errors import ConfigError
from otel_linnix.config.loader import load
from otel_linnix.config.model import ComponentSpec, Config, Pipeline, build


def load_config(path: str | None = None, env=None) -> Config:
    """The checked config for ``path`` (None: the embedded default pipeline)."""
    return build(load(path, env))


__all__ = ["ComponentSpec", "Config", "ConfigError", "Pipeline", "build", "load", "load_config"]
