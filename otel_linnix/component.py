"""The component model, after the OpenTelemetry Collector: factories, config schemas, lifecycle.

A factory names a component type, declares its config as JSON Schema with defaults, and creates
instances. The service wires instances into pipelines and never looks inside them.

Data flows one way: a receiver hands lists of records to a ``Consumer``; processors transform
lists; exporters take ``(signal, records)`` and must return quickly (queue internally).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from otel_linnix.alertstore import AlertStore
from otel_linnix.host import HostInfo
from otel_linnix.proctable import ProcessTable
from otel_linnix.records import Record
from otel_linnix.telemetry import Telemetry
from otel_linnix.watchlist import WatchList


class Kind(str, enum.Enum):
    RECEIVER = "receivers"
    PROCESSOR = "processors"
    EXPORTER = "exporters"
    EXTENSION = "extensions"


class Signal(str, enum.Enum):
    TRACES = "traces"
    METRICS = "metrics"
    LOGS = "logs"


ALL_SIGNALS = frozenset(Signal)


class Consumer(Protocol):
    def consume(self, records: Sequence[Record]) -> None: ...


class RecordBus:
    """Fan-out of every receiver's records to in-process listeners (the API's live stream).

    Listeners run on the receiver's thread and must only enqueue (bounded) and return.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[Sequence[Record]], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[Sequence[Record]], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def publish(self, records: Sequence[Record]) -> None:
        for listener in self._listeners:
            listener(records)


#: Roles a component can offer the others, and what each provider must be.
ROLES = {
    "insights": "InsightsProvider: the API's /insights (llm_annotate offers it when it runs)",
    "metrics_registry": "a prometheus-client registry: what the API's /metrics serves, the same "
                        "one the prometheus exporter serves",
}


class InsightsProvider(Protocol):
    """What the API's /insights asks of the LLM component (set by llm_annotate when enabled)."""

    def status(self) -> dict[str, Any]: ...

    def recent(self, limit: int = 50) -> list[dict[str, Any]]: ...

    def analyze(self, timeout: float | None = None) -> dict[str, Any]: ...


@dataclass
class AgentContext:
    """What every component may use besides its config (the Collector's ``component.Host``)."""

    host: HostInfo
    telemetry: Telemetry
    process_table: ProcessTable
    alerts: AlertStore
    watched: WatchList = field(default_factory=WatchList)
    bus: RecordBus = field(default_factory=RecordBus)
    #: Set once every receiver is attached (``/readyz``).
    ready: threading.Event = field(default_factory=threading.Event)
    #: Global switches from the config's ``service`` section (e.g. ``offline``).
    settings: dict[str, Any] = field(default_factory=dict)
    #: What components offer each other, by role (the Collector's ``Host.GetExtensions``):
    #: ``provide`` / ``withdraw`` / ``lookup``, each role named in ``ROLES``.
    _provided: dict[str, Any] = field(default_factory=dict)

    def provide(self, role: str, provider: Any) -> bool:
        """Offer ``provider`` in ``role``; the first offer stands (two prometheus exporters:
        the API serves the first one's registry). False when another already provides it."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        return self._provided.setdefault(role, provider) is provider

    def withdraw(self, role: str, provider: Any) -> None:
        if self._provided.get(role) is provider:
            del self._provided[role]

    def lookup(self, role: str) -> Any | None:
        """The provider of ``role``, or None when no component offers it."""
        return self._provided.get(role)

    @classmethod
    def create(cls, process_table_capacity: int = 65536, alert_capacity: int = 1000,
               host: HostInfo | None = None) -> AgentContext:
        telemetry = Telemetry()
        return cls(
            host=host or HostInfo.detect(),
            telemetry=telemetry,
            process_table=ProcessTable(process_table_capacity, telemetry),
            alerts=AlertStore(alert_capacity, telemetry),
            watched=WatchList(telemetry=telemetry),
        )


@dataclass(frozen=True)
class CreateSettings:
    """Identity and environment handed to a factory's ``create``."""

    id: str  # "otlp" or "otlp/backup"
    context: AgentContext
    logger: logging.Logger
    #: Ask the service to stop (a replay that is done, with exit_when_done).
    request_stop: Callable[[], None] = lambda: None


class Component:
    """Lifecycle every component shares. ``shutdown`` must be idempotent."""

    def start(self) -> None:
        pass

    def shutdown(self, timeout: float = 5.0) -> None:
        pass


class Receiver(Component):
    """Produces records and hands them to ``consumer`` (set before ``start``)."""

    consumer: Consumer


class Processor(Component):
    """Takes records, returns records (possibly the same list, possibly with additions)."""

    def process(self, records: Sequence[Record]) -> Sequence[Record]:
        return records


class Exporter(Component):
    """Ships records of one signal. ``consume`` must not block on the network."""

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        raise NotImplementedError

    def force_flush(self, timeout: float = 5.0) -> bool:
        return True


class Extension(Component):
    """Runs beside the pipelines (the HTTP API)."""


@dataclass(frozen=True)
class Factory:
    """How to make one component type: name, config schema and defaults, create function."""

    type: str
    kind: Kind
    #: JSON Schema (an object schema) for the component's config; defaults are applied first.
    schema: dict[str, Any]
    create: Callable[[CreateSettings, dict[str, Any]], Component]
    defaults: dict[str, Any] = field(default_factory=dict)
    #: For receivers: signals it can feed; for exporters: signals it can ship.
    signals: frozenset[Signal] = ALL_SIGNALS
    description: str = ""
    #: Extra checks JSON Schema cannot express; raise ValueError with a message.
    validate: Callable[[dict[str, Any]], None] | None = None
    #: Settings this type no longer takes → where they went. A config still setting one is
    #: warned (naming the new place) and the setting ignored, rather than refused.
    moved: dict[str, str] = field(default_factory=dict)
