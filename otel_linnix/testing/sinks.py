"""In-memory consumers and exporters that remember what they were given."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from otel_linnix.component import AgentContext, Exporter, Signal
from otel_linnix.host import HostInfo
from otel_linnix.records import Record


def test_context(**kwargs) -> AgentContext:
    """A context with a fixed, fake host identity so ids and timestamps are reproducible."""
    host = HostInfo(boot_id="00000000-0000-4000-8000-000000000001", machine_id="0" * 32,
                    hostname="test-host", boot_offset_ns=1_700_000_000 * 10**9)
    return AgentContext.create(host=host, **kwargs)


test_context.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


class ListConsumer:
    """A Consumer that appends every record it is given."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.batches = 0
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    def consume(self, records: Sequence[Record]) -> None:
        with self._lock:
            self.records.extend(records)
            self.batches += 1
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        with self._lock:
            return self.changed.wait_for(lambda: predicate(self.records), timeout)


class RecordingExporter(Exporter):
    """An exporter that keeps (signal, record) pairs and the lifecycle calls it saw."""

    def __init__(self, name: str = "recording", journal: list | None = None) -> None:
        self.name = name
        self.items: list[tuple[Signal, Record]] = []
        self.journal = journal if journal is not None else []
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.started = True
        self.journal.append(("start", self.name))

    def shutdown(self, timeout: float = 5.0) -> None:
        self.stopped = True
        self.journal.append(("shutdown", self.name))

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        self.items.extend((signal, r) for r in records)

    def of(self, signal: Signal) -> list[Record]:
        return [r for s, r in self.items if s == signal]
