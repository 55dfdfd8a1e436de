"""``otlp`` exporter: OTLP over gRPC, with retry, backoff and a persistent spool."""

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import HOST_PORT
from otel_linnix.exporters.otlpcommon import config as common


def _create(settings, config):
    from otel_linnix.exporters.otlpcommon.exporter import OTLPExporter
    from otel_linnix.exporters.otlpcommon.senders import GrpcSender

    return OTLPExporter(settings, common.finish(settings, config), GrpcSender)


FACTORY = Factory(
    type="otlp",
    kind=Kind.EXPORTER,
    schema=common.schema({"endpoint": HOST_PORT}),
    defaults={**common.DEFAULTS, "endpoint": "127.0.0.1:4317"},
    create=_create,
    moved=common.MOVED,
    description="OTLP/gRPC to a Collector, Tempo or any OTLP backend",
)
