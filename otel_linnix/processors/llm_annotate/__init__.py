"""``llm_annotate`` processor: grounded, redacted, budgeted explanations of alerts."""

import os

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import DURATION
from otel_linnix.records import SEVERITIES

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": {"type": "string", "description": "OpenAI-compatible base URL or "
                     ".../chat/completions URL (default: $LLM_ENDPOINT)"},
        "model": {"type": "string", "description": "model name (default: $LLM_MODEL)"},
        "api_key_env": {"type": "string", "description": "environment variable with the API key"},
        "timeout": DURATION,
        "max_tokens": {"type": "integer", "minimum": 16, "maximum": 32768},
        "min_severity": {"enum": list(SEVERITIES)},
        "offline": {"type": "boolean", "description": "never call out (fallback explanations)"},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 8},
        "queue_size": {"type": "integer", "minimum": 1, "maximum": 10000},
        "budget": {"type": "object", "additionalProperties": False, "properties": {
            "requests_per_hour": {"type": "integer", "minimum": 0},
            "tokens_per_hour": {"type": "integer", "minimum": 0},
            "min_interval": DURATION}},
        "breaker": {"type": "object", "additionalProperties": False, "properties": {
            "failures": {"type": "integer", "minimum": 1}, "cooloff": DURATION}},
    },
}


def _defaults() -> dict:
    return {"endpoint": os.environ.get("LLM_ENDPOINT", ""),
            "model": os.environ.get("LLM_MODEL", "qwen2.5-7b"), "api_key_env": "LLM_API_KEY",
            "timeout": "120s", "max_tokens": 512, "min_severity": "warning", "offline": False,
            "concurrency": 1, "queue_size": 100,
            "budget": {"requests_per_hour": 60, "tokens_per_hour": 100000, "min_interval": "1s"},
            "breaker": {"failures": 3, "cooloff": "5m"}}


def _create(settings, config):
    from otel_linnix.processors.llm_annotate.processor import LLMAnnotateProcessor

    return LLMAnnotateProcessor(settings, config)


FACTORY = Factory(
    type="llm_annotate",
    kind=Kind.PROCESSOR,
    schema=_SCHEMA,
    defaults=_defaults(),
    create=_create,
    description="explains alerts with an OpenAI-compatible LLM (grounded, redacted, budgeted)",
)
