"""Service lifecycle: build, start order, stop order, failure handling, shared processors."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from otel_linnix.component import (
    ALL_SIGNALS,
    Exporter,
    Extension,
    Factory,
    Kind,
    Processor,
    Receiver,
    Signal,
)
from otel_linnix.config.model import ComponentSpec, Config, Pipeline
from otel_linnix.config.schema import SERVICE_DEFAULTS
from otel_linnix.records import Alert, AlertSubject, Record
from otel_linnix.service import Service, ServiceError
from otel_linnix.testing import RecordingExporter, random_tree, test_context


class Journal(list):
    pass


class _Recv(Receiver):
    def __init__(self, name, journal, fail=False):
        self.name, self.journal, self.fail = name, journal, fail

    def start(self):
        if self.fail:
            raise RuntimeError("cannot attach")
        self.journal.append(("start", self.name))

    def shutdown(self, timeout=5.0):
        self.journal.append(("shutdown", self.name))


class _CountingProcessor(Processor):
    """Appends one alert per batch, so double processing would show as double alerts."""

    def __init__(self, name, journal):
        self.name, self.journal, self.calls = name, journal, 0

    def start(self):
        self.journal.append(("start", self.name))

    def shutdown(self, timeout=5.0):
        self.journal.append(("shutdown", self.name))

    def process(self, records: Sequence[Record]):
        self.calls += 1
        alert = Alert(f"a{self.calls}", "r", "info", "firing", AlertSubject(), "m", 0, 0)
        return [*records, alert]


class _FailingExporter(Exporter):
    def consume(self, signal, records):
        raise ValueError("boom")


class _Ext(Extension):
    def __init__(self, journal):
        self.journal = journal

    def start(self):
        self.journal.append(("start", "api"))

    def shutdown(self, timeout=5.0):
        self.journal.append(("shutdown", "api"))


def _factory(kind, type_name, make):
    return Factory(type=type_name, kind=kind, schema={"type": "object"},
                   create=lambda settings, config: make(), signals=ALL_SIGNALS)


def make_config(objs: dict, pipelines: list[Pipeline], extensions=()) -> Config:
    components = {key: ComponentSpec(key[0], key[1], _factory(key[0], key[1].split("/")[0],
                                                              (lambda o=obj: o)), {})
                  for key, obj in objs.items()}
    return Config(components, pipelines, list(extensions), dict(SERVICE_DEFAULTS))


@pytest.fixture
def graph():
    journal = Journal()
    objs = {
        (Kind.RECEIVER, "recv"): _Recv("recv", journal),
        (Kind.PROCESSOR, "rules"): _CountingProcessor("rules", journal),
        (Kind.EXPORTER, "a"): RecordingExporter("a", journal),
        (Kind.EXPORTER, "b"): RecordingExporter("b", journal),
        (Kind.EXTENSION, "api"): _Ext(journal),
    }
    pipelines = [
        Pipeline("traces", Signal.TRACES, ("recv",), ("rules",), ("a",)),
        Pipeline("logs", Signal.LOGS, ("recv",), ("rules",), ("a", "b")),
    ]
    return journal, objs, make_config(objs, pipelines, ["api"])


def test_start_order_is_extensions_exporters_processors_receivers(graph):
    journal, objs, config = graph
    service = Service(config, test_context())
    service.start()
    assert journal == [("start", "api"), ("start", "a"), ("start", "b"), ("start", "rules"),
                       ("start", "recv")]
    assert service.context.ready.is_set()
    journal.clear()
    service.shutdown(1.0)
    assert journal == [("shutdown", "recv"), ("shutdown", "rules"), ("shutdown", "a"),
                       ("shutdown", "b"), ("shutdown", "api")]
    assert not service.context.ready.is_set()
    service.shutdown(1.0)  # idempotent
    assert len(journal) == 5


def test_shared_processor_runs_once_per_batch_and_feeds_every_pipeline(graph):
    journal, objs, config = graph
    service = Service(config, test_context())
    service.start()
    recs = random_tree(5)
    objs[(Kind.RECEIVER, "recv")].consumer.consume(recs)
    assert objs[(Kind.PROCESSOR, "rules")].calls == 1
    a, b = objs[(Kind.EXPORTER, "a")], objs[(Kind.EXPORTER, "b")]
    assert len(a.of(Signal.TRACES)) == len(recs) + 1
    assert len(a.of(Signal.LOGS)) == len(recs) + 1
    assert len(b.of(Signal.LOGS)) == len(recs) + 1 and b.of(Signal.TRACES) == []
    service.shutdown(1.0)


def test_records_reach_the_live_bus(graph):
    journal, objs, config = graph
    service = Service(config, test_context())
    seen = []
    service.context.bus.subscribe(seen.extend)
    service.start()
    recs = random_tree(3)
    objs[(Kind.RECEIVER, "recv")].consumer.consume(recs)
    assert seen == recs  # what the receiver produced, before processors add anything
    service.shutdown(1.0)


def test_failed_start_stops_what_started_and_names_the_component(graph):
    journal, objs, config = graph
    objs[(Kind.RECEIVER, "recv")].fail = True
    service = Service(config, test_context())
    with pytest.raises(ServiceError, match=r"receivers\.recv: failed to start: cannot attach"):
        service.start()
    assert ("shutdown", "a") in journal and ("shutdown", "api") in journal
    assert ("shutdown", "recv") not in journal  # it never started


def test_a_failing_exporter_does_not_starve_the_others():
    journal = Journal()
    good = RecordingExporter("good", journal)
    objs = {(Kind.RECEIVER, "recv"): _Recv("recv", journal),
            (Kind.EXPORTER, "bad"): _FailingExporter(),
            (Kind.EXPORTER, "good"): good}
    config = make_config(objs, [Pipeline("traces", Signal.TRACES, ("recv",), (), ("bad", "good"))])
    service = Service(config, test_context())
    service.start()
    recs = random_tree(2)
    objs[(Kind.RECEIVER, "recv")].consumer.consume(recs)
    assert [r for _, r in good.items] == recs
    errors = service.context.telemetry.get("otel_linnix.pipeline.errors")
    assert errors.value((("component", "bad"),)) == 1
    service.shutdown(1.0)


def test_a_receiver_reusing_its_buffer_still_gets_every_batch_processed(graph):
    journal, objs, config = graph
    service = Service(config, test_context())
    service.start()
    buffer = random_tree(2)
    consumer = objs[(Kind.RECEIVER, "recv")].consumer
    consumer.consume(buffer)
    buffer[:] = random_tree(3, first_pid=4000)  # same list object, new contents
    consumer.consume(buffer)
    assert objs[(Kind.PROCESSOR, "rules")].calls == 2
    pids = {r.pid for r in objs[(Kind.EXPORTER, "b")].of(Signal.LOGS) if hasattr(r, "ppid")}
    assert {1000, 1001, 4000, 4001, 4002} <= pids
    service.shutdown(1.0)
