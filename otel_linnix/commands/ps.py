"""``otel-linnix ps``: live processes from the agent's table."""

from otel_linnix.client import format
from otel_linnix.commands._client import add_client_flags, client_of, print_json, run_client


def register(sub) -> None:
    p = sub.add_parser("ps", help="list live processes (from the agent's API)")
    p.add_argument("--sort", choices=["cpu", "rss", "fds", "start"], default="cpu")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--comm")
    add_client_flags(p)
    p.set_defaults(func=run_client(ps))


def ps(args):
    body = client_of(args).get("/processes", sort=args.sort, limit=args.limit, comm=args.comm)
    print_json(body) if args.json else print(format.process_table(body["processes"]))
