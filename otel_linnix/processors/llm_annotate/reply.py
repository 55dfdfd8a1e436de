"""The model's answer: JSON checked against a schema, every cited fact id must exist."""

from __future__ import annotations

import json

import jsonschema

SCHEMA = {
    "type": "object",
    "required": ["summary", "likely_cause", "cited_facts", "next_steps", "confidence"],
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 2000},
        "likely_cause": {"type": "string", "maxLength": 2000},
        "cited_facts": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        "next_steps": {"type": "array", "items": {"type": "string", "maxLength": 500},
                       "maxItems": 10},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
}


class BadReply(ValueError):
    pass


def parse(content: str, fact_ids: set[str]) -> dict:
    """The validated annotation, or BadReply saying what is wrong with the reply."""
    text = content.strip()
    if text.startswith("```"):  # some models fence JSON despite being told not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadReply(f"not JSON: {exc.msg}") from None
    try:
        jsonschema.validate(obj, SCHEMA)
    except jsonschema.ValidationError as exc:
        raise BadReply(f"does not match the schema: {exc.message[:200]}") from None
    unknown = sorted(set(obj["cited_facts"]) - fact_ids)
    if unknown:
        raise BadReply(f"cites facts that do not exist: {', '.join(unknown[:5])}")
    return obj
