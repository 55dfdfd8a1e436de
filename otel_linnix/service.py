"""The service: builds components from a Config, wires pipelines, runs the lifecycle.

Start order follows the Collector: extensions, then exporters, processors, receivers (so nothing
is ever handed to a component that is not running). Shutdown is the reverse: receivers stop
first and flush what they hold, processors next, exporters last with what remains of the
drain deadline, extensions at the very end. The service itself is the source of the agent's
own metrics (``selftelemetry``): they start with the receivers and send their last snapshot
once the receivers have stopped.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from otel_linnix import compiled, recording
from otel_linnix.component import (
    AgentContext,
    Component,
    CreateSettings,
    Exporter,
    Kind,
    Processor,
    Receiver,
    Signal,
)
from otel_linnix.config import Config
from otel_linnix.config.types import parse_duration
from otel_linnix.host import HostInfo
from otel_linnix.pipeline import PipelineHead, ReceiverFanout, SharedProcessor
from otel_linnix.selftelemetry import SelfTelemetry

log = logging.getLogger(__name__)

_START_ORDER = (Kind.EXTENSION, Kind.EXPORTER, Kind.PROCESSOR, Kind.RECEIVER)
_STOP_ORDER = (Kind.RECEIVER, Kind.PROCESSOR, Kind.EXPORTER, Kind.EXTENSION)


class ServiceError(Exception):
    pass


def recorded_host(config: Config) -> HostInfo | None:
    """The identity of the host a replayed recording was made on (its ``host: recorded``), so
    it is fixed before any component exists: exporters build their resource at creation."""
    for spec in config.components.values():
        if spec.kind is Kind.RECEIVER and spec.factory.type == "replay" \
                and spec.config["host"] == "recorded":
            return recording.host_of(spec.config["path"])
    return None


class Service:
    def __init__(self, config: Config, context: AgentContext | None = None) -> None:
        self.config = config
        self.context = context or AgentContext.create(
            process_table_capacity=config.service["process_table"]["capacity"])
        self.context.settings.setdefault("offline", config.service["offline"])
        self.context.host = recorded_host(config) or self.context.host
        self.components: dict[tuple[Kind, str], Component] = {}
        self._started: list[tuple[Kind, str]] = []
        self._self_telemetry: SelfTelemetry | None = None
        self._stop_requested = threading.Event()
        self._shutdown_done = False
        self._lock = threading.Lock()

    # ---- build ------------------------------------------------------------------------------

    def build(self) -> None:
        """Create every used component once, then wire receivers to their pipelines."""
        used = self._used_ids()
        for key in used:
            spec = self.config.spec(*key)
            settings = CreateSettings(spec.id, self.context,
                                      logging.getLogger(f"otel_linnix.{spec.kind.value}.{spec.id}"),
                                      self.request_stop)
            try:
                self.components[key] = spec.factory.create(settings, spec.config)
            except Exception as exc:
                raise ServiceError(f"{spec.kind.value}.{spec.id}: cannot create: {exc}") from exc
        self._wire()

    def _used_ids(self) -> list[tuple[Kind, str]]:
        keys: list[tuple[Kind, str]] = [(Kind.EXTENSION, e) for e in self.config.extensions]
        for p in self.config.pipelines:
            keys += [(Kind.RECEIVER, c) for c in p.receivers]
            keys += [(Kind.PROCESSOR, c) for c in p.processors]
            keys += [(Kind.EXPORTER, c) for c in p.exporters]
        return list(dict.fromkeys(keys))

    def _wire(self) -> None:
        telemetry = self.context.telemetry
        shared = {cid: SharedProcessor(cid, comp) for (kind, cid), comp in self.components.items()
                  if kind == Kind.PROCESSOR and isinstance(comp, Processor)}
        heads_by_receiver: dict[str, list[PipelineHead]] = {}
        metrics_heads = []
        for p in self.config.pipelines:
            exporters = [(cid, self._get(Kind.EXPORTER, cid, Exporter)) for cid in p.exporters]
            head = PipelineHead(p.name, p.signal, [shared[c] for c in p.processors], exporters,
                                telemetry)
            for rid in p.receivers:
                heads_by_receiver.setdefault(rid, []).append(head)
            if p.signal is Signal.METRICS:
                metrics_heads.append(head)
        self._self_telemetry = SelfTelemetry(
            telemetry, metrics_heads,
            parse_duration(self.config.service["telemetry"]["metrics"]["interval"]))
        for rid, heads in heads_by_receiver.items():
            receiver = self._get(Kind.RECEIVER, rid, Receiver)
            receiver.consumer = ReceiverFanout(heads, self.context.bus, telemetry, rid)

    def _get(self, kind: Kind, cid: str, cls: type):
        comp = self.components[(kind, cid)]
        if not isinstance(comp, cls):
            raise ServiceError(f"{kind.value}.{cid}: factory made a {type(comp).__name__}, "
                               f"not a {cls.__name__}")
        return comp

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; on a failure stop what already started and raise ServiceError."""
        if not self.components:
            self.build()
        for kind in _START_ORDER:
            for key, comp in self.components.items():
                if key[0] != kind:
                    continue
                try:
                    comp.start()
                except Exception as exc:
                    log.error("%s.%s failed to start: %s", kind.value, key[1], exc)
                    self.shutdown()
                    raise ServiceError(f"{kind.value}.{key[1]}: failed to start: {exc}") from exc
                self._started.append(key)
        if self._self_telemetry is not None:
            self._self_telemetry.start()
        self.context.ready.set()
        log.info("otel-linnix started: %d pipelines, %d components, hot path %s",
                 len(self.config.pipelines), len(self.components),
                 "compiled" if compiled.active() else "interpreted (make setup compiles it)")

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop in data-flow order within ``timeout`` seconds in total. Idempotent."""
        with self._lock:
            if self._shutdown_done:
                return
            self._shutdown_done = True
        budget = parse_duration(self.config.service["shutdown_timeout"]) if timeout is None \
            else timeout
        deadline = time.monotonic() + budget
        self.context.ready.clear()
        for kind in _STOP_ORDER:
            for key in [k for k in self._started if k[0] == kind]:
                self._stop_one(key, deadline)
            if kind is Kind.RECEIVER and self._self_telemetry is not None:
                self._self_telemetry.stop()  # its last snapshot counts all that was received
        self._started.clear()

    def _stop_one(self, key: tuple[Kind, str], deadline: float) -> None:
        comp = self.components[key]
        remaining = max(0.1, deadline - time.monotonic())
        try:
            if isinstance(comp, Exporter):
                comp.force_flush(remaining)
                remaining = max(0.1, deadline - time.monotonic())
            comp.shutdown(remaining)
        except Exception:
            log.exception("%s.%s failed to shut down cleanly", key[0].value, key[1])

    def reload(self) -> None:
        """SIGHUP: processors that can reload (the rules file) do so; others are untouched."""
        for (kind, cid), comp in self.components.items():
            reload = getattr(comp, "reload", None)
            if kind == Kind.PROCESSOR and callable(reload):
                try:
                    reload()
                    log.info("processors.%s reloaded", cid)
                except Exception as exc:
                    log.error("processors.%s: reload failed, keeping the old state: %s", cid, exc)

    def request_stop(self) -> None:
        self._stop_requested.set()

    def run(self) -> int:
        """Start, wait for SIGINT/SIGTERM, drain. Returns the process exit code."""
        self._install_signals()
        self.start()
        try:
            while not self._stop_requested.wait(0.5):
                pass
        finally:
            log.info("stopping (drain budget %s)", self.config.service["shutdown_timeout"])
            self.shutdown()
        log.info("stopped")
        return 0

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(
            target=self.reload, name="reload", daemon=True).start())
