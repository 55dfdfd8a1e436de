"""``debug`` exporter: a readable line per record on the console, like the Collector's debug."""

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import DURATION
from otel_linnix.exporters.debug.exporter import DebugExporter

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "verbosity": {"enum": ["basic", "normal", "detailed"],
                      "description": "basic: alerts + a periodic summary; normal: a line per "
                                     "record; detailed: every field"},
        "summary_interval": DURATION,
        "stream": {"enum": ["stdout", "stderr"]},
        "queue_size": {"type": "integer", "minimum": 1},
    },
}

FACTORY = Factory(
    type="debug",
    kind=Kind.EXPORTER,
    schema=_SCHEMA,
    defaults={"verbosity": "basic", "summary_interval": "10s", "stream": "stdout",
              "queue_size": 10000},
    create=lambda settings, config: DebugExporter(settings, config),
    description="prints records to the console",
)
