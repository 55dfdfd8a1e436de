"""Replay: the same records the eBPF receiver produced, from a file, at a chosen speed.

It is what makes every later stage testable without root, and real captures reusable as
fixtures. Like a live receiver it writes the process table before handing records on.
"""

from __future__ import annotations

import dataclasses
import threading
import time

from otel_linnix import recording
from otel_linnix.component import CreateSettings, Receiver
from otel_linnix.config.types import parse_duration
from otel_linnix.host import boot_ns_now
from otel_linnix.receivers import running
from otel_linnix.receivers.hosttotals import HostTotals
from otel_linnix.records import (
    Alert,
    OomKill,
    PressureSample,
    ProcessExec,
    ProcessExit,
    ProcessSample,
    ProcessStart,
    Record,
    record_time,
)
from otel_linnix.redact import redact_argv

_TIME_FIELDS = {
    ProcessStart: ("start_ns", "parent_start_ns"),
    ProcessExec: ("start_ns", "ts_ns"),
    ProcessExit: ("start_ns", "parent_start_ns", "exit_ns"),
    ProcessSample: ("start_ns", "ts_ns"),
    OomKill: ("start_ns", "ts_ns"),
    PressureSample: ("ts_ns",),
    Alert: ("first_seen_ns", "last_seen_ns"),
}


def shift(rec: Record, delta: int) -> Record:
    """The record moved by ``delta`` ns (zero stays zero: it means unknown)."""
    changes = {f: getattr(rec, f) + delta for f in _TIME_FIELDS[type(rec)] if getattr(rec, f)}
    return dataclasses.replace(rec, **changes)


def _redacted(rec: Record) -> Record:
    """A receiver redacts at the source, whatever wrote the recording (a hand-made fixture, an
    older build): argv secrets never go further than this."""
    argv = getattr(rec, "argv", None)
    if not argv:
        return rec
    clean = redact_argv(argv)
    return rec if clean == argv else dataclasses.replace(rec, argv=clean)  # type: ignore[call-arg,arg-type]


class ReplayReceiver(Receiver):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._path = config["path"]
        self._speed = float(config["speed"])
        self._batch_size = config["batch_size"]
        self._local = config["host"] == "local"
        self._request_stop = settings.request_stop
        self._totals = HostTotals(settings.context.telemetry)
        self._start_delay = parse_duration(config["start_delay"])
        self._exit_when_done = config["exit_when_done"]
        #: Ages on the recording's clock, and not remembered across runs: a replay is a re-run.
        self._running = running.from_config(self._ctx.process_table, config)
        self._clock = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()
        self.replayed = 0
        self._counter = self._ctx.telemetry.counter(
            "otel_linnix.replay.records", "Records replayed from a recording")
        self._stream = open(self._path, encoding="utf-8")  # fail at create: a clear config error
        _, self._records = recording.read(self._stream)  # its host: the service's, already

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="replay", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._stream.close()
        if self._clock:
            self.consumer.consume(self._running.final(self._clock))

    def _run(self) -> None:
        try:
            self._play()
        except recording.RecordingError as exc:
            self._log.error("replay of %s stopped: %s", self._path, exc)
        finally:
            self.done.set()
            self._log.info("replay of %s finished: %d records", self._path, self.replayed)
            if self._exit_when_done and not self._stop.is_set():
                self._request_stop()

    def _play(self) -> None:
        if self._stop.wait(self._start_delay):
            return
        batch: list[Record] = []
        try:
            self._play_into(batch)
        finally:  # a malformed line ends the replay, but what came before it still goes out
            if batch:
                self._emit(batch)

    def _play_into(self, batch: list[Record]) -> None:
        first_ts = None
        wall_start = time.monotonic()
        delta = 0
        for rec in self._records:
            ts = record_time(rec)
            if first_ts is None:
                first_ts = ts
                delta = boot_ns_now() - ts if self._local else 0
            if self._speed > 0:
                due = wall_start + (ts - first_ts) / 1e9 / self._speed
                if due > time.monotonic() + 0.001 and batch:
                    self._emit_all(batch)
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    return
            elif self._stop.is_set():
                return
            batch.append(shift(rec, delta) if delta else rec)
            if ts + delta > self._clock:  # the newest time played: what ages are measured on
                self._clock = ts + delta
            if len(batch) >= self._batch_size:
                self._emit_all(batch)

    def _emit_all(self, batch: list[Record]) -> None:
        """Hand on a copy and empty the caller's list (it is reused for the next batch)."""
        self._emit(batch[:])
        batch.clear()

    def _emit(self, batch: list[Record]) -> None:
        batch = [_redacted(r) for r in batch]
        self._ctx.process_table.apply(batch)
        self._totals.count(batch)
        self.consumer.consume([*batch, *self._running.due(self._clock)])
        self.replayed += len(batch)
        self._counter.add(len(batch))
