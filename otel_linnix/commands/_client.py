"""Flags and error handling every API client command shares."""

from __future__ import annotations

import json
import sys

from otel_linnix.client import DEFAULT_API, ApiError, Client


def add_client_flags(parser) -> None:
    parser.add_argument("--api", default=DEFAULT_API, help=f"agent API URL (default {DEFAULT_API})")
    parser.add_argument("--token", help="bearer token (default: $OTEL_LINNIX_API_TOKEN)")
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")


def client_of(args) -> Client:
    return Client(args.api, args.token)


def run_client(fn):
    """Wrap a command body: API errors become one clear line and exit code 1."""
    def wrapped(args) -> int:
        try:
            return fn(args) or 0
        except ApiError as exc:
            print(f"otel-linnix: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    return wrapped


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=str))
