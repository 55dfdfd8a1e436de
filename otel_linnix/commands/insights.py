"""``otel-linnix insights [--analyze]``: LLM explanations of alerts (when enabled)."""

from otel_linnix.commands._client import add_client_flags, client_of, print_json, run_client


def register(sub) -> None:
    p = sub.add_parser("insights", help="LLM insights about alerts (llm_annotate must be on)")
    p.add_argument("--analyze", action="store_true", help="ask for a summary of the current state")
    add_client_flags(p)
    p.set_defaults(func=run_client(insights))


def insights(args):
    client = client_of(args)
    body = client.get("/insights", analyze="1" if args.analyze else None)
    if args.json:
        print_json(body)
        return
    if args.analyze:
        print(body.get("summary") or body)
        return
    for item in body.get("insights", []):
        print(f"[{item.get('rule')}] {item.get('summary')}")
    if not body.get("insights"):
        print("no insights yet")
