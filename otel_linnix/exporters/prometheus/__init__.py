"""``prometheus`` exporter: a scrape endpoint with host totals, top-N process metrics and the
agent's own health (see ``collector.py`` for the names)."""

from otel_linnix.component import Factory, Kind, Signal
from otel_linnix.config.types import HOST_PORT

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": {**HOST_PORT, "description": "host:port to serve /metrics on (0 = any port)"},
        "top_n": {"type": "integer", "minimum": 0, "maximum": 1000,
                  "description": "processes with series, per ranking (CPU, RSS, fds)"},
        "namespace": {"type": "string", "pattern": "^([a-zA-Z_][a-zA-Z0-9_]*)?$",
                      "description": "prefix for every metric name (empty: none)"},
        "process_metrics": {"type": "boolean",
                            "description": "export per-process series for the top-N processes"},
    },
}


def _create(settings, config):
    from otel_linnix.exporters.prometheus.exporter import PrometheusExporter

    return PrometheusExporter(settings, config)


FACTORY = Factory(
    type="prometheus",
    kind=Kind.EXPORTER,
    schema=_SCHEMA,
    defaults={"endpoint": "127.0.0.1:9464", "top_n": 10, "namespace": "",
              "process_metrics": True},
    create=_create,
    signals=frozenset({Signal.METRICS}),
    description="Prometheus scrape endpoint: host totals, top-N processes, agent health",
)
