"""``api`` extension: HTTP/SSE API on 127.0.0.1:3000 (Linnix's port)."""

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import HOST_PORT

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": HOST_PORT,
        "auth": {"type": "object", "additionalProperties": False, "properties": {
            "token_env": {"type": "string", "description": "env var holding the bearer token"},
            "token_file": {"type": "string", "description": "file holding the bearer token"},
            "token": {"type": "string", "minLength": 1, "description":
                      "the token itself (a linnix.toml's auth_token; prefer token_env)"}}},
        "max_streams": {"type": "integer", "minimum": 1, "maximum": 1000},
        "client_queue": {"type": "integer", "minimum": 1,
                         "description": "events an SSE client may lag behind before it is dropped"},
        "stream_buffer": {"type": "integer", "minimum": 0,
                          "description": "recent events kept for Last-Event-ID resume"},
    },
}


def _create(settings, config):
    from otel_linnix.api.server import ApiExtension

    return ApiExtension(settings, config)


FACTORY = Factory(
    type="api",
    kind=Kind.EXTENSION,
    schema=_SCHEMA,
    defaults={"endpoint": "127.0.0.1:3000", "auth": {}, "max_streams": 32,
              "client_queue": 10000, "stream_buffer": 10000},
    create=_create,
    description="HTTP/SSE API: /health /metrics /processes /graph/{pid} /stream /alerts /insights",
)
