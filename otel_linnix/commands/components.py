"""``otel-linnix components``: every component type, its config keys and their defaults."""

from __future__ import annotations

import json

from otel_linnix import registry
from otel_linnix.component import Kind


def register(sub) -> None:
    p = sub.add_parser("components", help="list component types and their config keys")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=components)


def _describe(kind: Kind, name: str) -> dict:
    try:
        factory = registry.get_factory(kind, name)
    except Exception as exc:  # an optional dependency missing on this install
        return {"type": name, "available": False, "reason": str(exc)}
    props = factory.schema.get("properties", {})
    return {
        "type": name,
        "available": True,
        "description": factory.description,
        "signals": sorted(s.value for s in factory.signals),
        "keys": {key: {"default": factory.defaults.get(key),
                       "description": spec.get("description", "")} for key, spec in props.items()},
        "required": factory.schema.get("required", []),
    }


def components(args) -> int:
    listing = {kind.value: [_describe(kind, n) for n in registry.types(kind)] for kind in Kind}
    if args.json:
        print(json.dumps(listing, indent=2, default=str))
        return 0
    for kind, items in listing.items():
        print(f"{kind}:")
        for item in items:
            if not item["available"]:
                print(f"  {item['type']}  (unavailable: {item['reason']})")
                continue
            print(f"  {item['type']}  — {item['description']}")
            for key, info in item["keys"].items():
                req = " (required)" if key in item["required"] else ""
                default = "" if info["default"] is None else f" = {json.dumps(info['default'])}"
                print(f"      {key}{default}{req}  {info['description']}")
    return 0
