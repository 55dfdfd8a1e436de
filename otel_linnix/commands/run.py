"""``otel-linnix run [--config FILE]``: start the agent (no file: the embedded default)."""

from __future__ import annotations

import logging
import sys

from otel_linnix.config import ConfigError, load_config
from otel_linnix.service import Service, ServiceError


def register(sub) -> None:
    p = sub.add_parser("run", help="run the agent")
    p.add_argument("--config", "-c", help="pipeline YAML or linnix.toml (default: embedded)")
    p.set_defaults(func=run)


def fail(message: str) -> int:
    for line in message.splitlines():
        print(f"otel-linnix: error: {line}", file=sys.stderr)
    return 1


def run(args) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return fail(str(exc))
    for warning in config.warnings:
        logging.getLogger("otel_linnix").warning(warning)
    level = config.service.get("telemetry", {}).get("logs", {}).get("level")
    if level:
        logging.getLogger().setLevel(level)
    service = Service(config)
    try:
        service.build()
        return service.run()
    except ServiceError as exc:
        service.shutdown()
        return fail(str(exc))
