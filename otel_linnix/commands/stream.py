"""``otel-linnix stream``: live fork / exec / exit events."""

import json

from otel_linnix.client import format
from otel_linnix.commands._client import add_client_flags, client_of, run_client


def register(sub) -> None:
    p = sub.add_parser("stream", help="follow process events live")
    p.add_argument("--comm")
    p.add_argument("--ppid", type=int)
    add_client_flags(p)
    p.set_defaults(func=run_client(stream))


def stream(args):
    for name, data in client_of(args).events("/stream", comm=args.comm, ppid=args.ppid):
        print(json.dumps(data) if args.json else format.event(name, data), flush=True)
