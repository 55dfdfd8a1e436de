"""``otel-linnix alerts [--follow]``: firing and recent alerts."""

import json

from otel_linnix.client import format
from otel_linnix.commands._client import add_client_flags, client_of, print_json, run_client


def register(sub) -> None:
    p = sub.add_parser("alerts", help="show alerts from the rules engine")
    p.add_argument("--follow", "-f", action="store_true", help="keep streaming new alerts")
    add_client_flags(p)
    p.set_defaults(func=run_client(alerts))


def alerts(args):
    client = client_of(args)
    if args.follow:
        for _, data in client.events("/alerts"):
            print(json.dumps(data) if args.json else format.alert(data), flush=True)
        return 0
    body = client.get("/alerts")
    if args.json:
        print_json(body)
    elif not body["recent"]:
        print("no alerts")
    else:
        print("\n".join(format.alert(a) for a in body["recent"]))
