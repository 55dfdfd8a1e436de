"""``otlphttp`` exporter: OTLP over HTTP (protobuf), with retry, backoff and a persistent spool."""

from otel_linnix.component import Factory, Kind
from otel_linnix.exporters.otlpcommon import config as common

_URL = {"type": "string", "pattern": r"^https?://[^\s/]+(/.*)?$",
        "description": "base URL; /v1/traces, /v1/metrics, /v1/logs are appended"}


def _create(settings, config):
    from otel_linnix.exporters.otlpcommon.exporter import OTLPExporter
    from otel_linnix.exporters.otlpcommon.senders import HttpSender

    return OTLPExporter(settings, common.finish(settings, config), HttpSender)


FACTORY = Factory(
    type="otlphttp",
    kind=Kind.EXPORTER,
    schema=common.schema({"endpoint": _URL}),
    defaults={**common.DEFAULTS, "endpoint": "http://127.0.0.1:4318"},
    create=_create,
    moved=common.MOVED,
    description="OTLP/HTTP (protobuf) to a Collector or any OTLP backend",
)
