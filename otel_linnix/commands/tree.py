"""``otel-linnix tree PID``: a process's ancestors and descendants as an indented tree."""

from otel_linnix.client import format
from otel_linnix.commands._client import add_client_flags, client_of, print_json, run_client


def register(sub) -> None:
    p = sub.add_parser("tree", help="show a process's ancestry and descendants")
    p.add_argument("pid", type=int)
    add_client_flags(p)
    p.set_defaults(func=run_client(tree))


def tree(args):
    body = client_of(args).get(f"/graph/{args.pid}")
    print_json(body) if args.json else print(format.tree(body))
