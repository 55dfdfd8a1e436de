"""``file`` exporter: OTLP JSON lines (one Export*ServiceRequest per line), like the Collector's."""

from otel_linnix.component import Factory, Kind
from otel_linnix.exporters.otlpcommon import config as common


def _create(settings, config):
    from otel_linnix.exporters.otlpcommon.exporter import OTLPExporter
    from otel_linnix.exporters.otlpcommon.senders import FileSender

    config = {**common.DEFAULTS, **config, "spool": {**common.DEFAULTS["spool"], "enabled": False}}
    return OTLPExporter(settings, common.finish(settings, config), FileSender)


_SCHEMA = common.schema({"path": {"type": "string", "minLength": 1,
                                  "description": "file to append OTLP JSON lines to"}},
                        transport=False)
_SCHEMA["required"] = ["path"]
_SCHEMA["properties"].pop("spool")

FACTORY = Factory(
    type="file",
    kind=Kind.EXPORTER,
    schema=_SCHEMA,
    defaults={k: v for k, v in common.DEFAULTS.items()
              if k in _SCHEMA["properties"]},
    create=_create,
    moved=common.MOVED,
    description="OTLP JSON lines to a file (one Export*ServiceRequest per line)",
)
