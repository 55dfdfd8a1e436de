"""``otel-linnix validate --config FILE``: check a config and name exactly what is wrong."""

from __future__ import annotations

import sys

from otel_linnix.commands.run import fail
from otel_linnix.config import ConfigError, load_config


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a config file without running it")
    p.add_argument("--config", "-c", required=True, help="pipeline YAML or linnix.toml")
    p.set_defaults(func=validate)


def validate(args) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return fail(str(exc))
    for warning in config.warnings:
        print(f"otel-linnix: warning: {warning}", file=sys.stderr)
    names = ", ".join(p.name for p in config.pipelines)
    print(f"{args.config}: OK ({len(config.pipelines)} pipelines: {names})")
    return 0
