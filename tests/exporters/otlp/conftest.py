import pytest

from otel_linnix import recording
from otel_linnix.config import build
from otel_linnix.service import Service
from otel_linnix.testing import test_context
from otel_linnix.testing.otlp_server import OTLPServer


@pytest.fixture
def server():
    srv = OTLPServer()
    yield srv
    srv.stop()


@pytest.fixture
def run_replay(tmp_path):
    """Replay ``records`` through ``exporters`` (a config dict) in a real service."""
    services = []

    def run(records, exporters: dict, signals=("traces", "metrics", "logs"), speed=0,
            replay: dict | None = None, service_settings: dict | None = None):
        rec = tmp_path / f"rec{len(services)}.jsonl"
        with open(rec, "w") as fh:
            recording.Writer(fh, test_context().host).write(records)
        raw = {"receivers": {"replay": {"path": str(rec), "speed": speed, **(replay or {})}},
               "exporters": exporters,
               "service": {"pipelines": {s: {"receivers": ["replay"],
                                             "exporters": list(exporters)} for s in signals},
                           **(service_settings or {})}}
        service = Service(build(raw), test_context())
        service.start()
        services.append(service)
        return service

    yield run
    for service in services:
        service.shutdown(5)





@pytest.fixture
def make_exporter(tmp_path):
    """An exporter made through its FACTORY (defaults merged, schema-validated), started;
    shut down at the end of the test."""
    import logging

    import jsonschema

    from otel_linnix.component import CreateSettings, Kind
    from otel_linnix.config.schema import deep_merge
    from otel_linnix.registry import get_factory

    made = []

    def make(type_name: str, config: dict, ctx=None):
        factory = get_factory(Kind.EXPORTER, type_name)
        merged = deep_merge(factory.defaults, config)
        jsonschema.validate(merged, factory.schema)
        ctx = ctx or test_context()
        exporter = factory.create(CreateSettings(type_name, ctx, logging.getLogger(type_name)),
                                  merged)
        exporter.start()
        made.append(exporter)
        return exporter, ctx

    yield make
    for exporter in made:
        exporter.shutdown(2)
