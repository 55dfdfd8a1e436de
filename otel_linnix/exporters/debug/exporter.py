"""Console output. Formatting and writing happen on a worker thread behind a bounded queue, so a
slow terminal never slows the event path; lines that do not fit are dropped and counted.
"""

from __future__ import annotations

import collections
import json
import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict

from otel_linnix.component import CreateSettings, Exporter, Signal
from otel_linnix.config.types import parse_duration
from otel_linnix.records import (
    Alert,
    OomKill,
    PressureSample,
    ProcessExec,
    ProcessExit,
    ProcessSample,
    ProcessStart,
    Record,
    standing_for,
)

_STOP = object()


def describe(rec: Record) -> str:
    """One human line per record."""
    kind = type(rec)
    if kind is ProcessExit:
        how = f"killed by signal {rec.signal}{' (core dumped)' if rec.core_dumped else ''}" \
            if rec.signal else f"exit {rec.exit_code}"
        if rec.oom_killed:
            how += " (OOM killer)"
        took = (rec.exit_ns - rec.start_ns) / 1e6
        return (f"exit   pid={rec.pid} ppid={rec.ppid} {rec.comm} {how} after {took:.1f} ms "
                f"argv={' '.join(rec.argv)[:200]!r}")
    if kind is ProcessStart:
        return f"fork   pid={rec.pid} ppid={rec.ppid} {rec.comm} uid={rec.uid}"
    if kind is ProcessExec:
        return f"exec   pid={rec.pid} {rec.exe} argv={' '.join(rec.argv)[:200]!r}"
    if kind is ProcessSample:
        return (f"sample pid={rec.pid} {rec.comm} cpu={(rec.cpu_user_ns + rec.cpu_system_ns) / 1e9:.2f}s "
                f"rss={rec.rss_bytes >> 20}MiB fds={rec.fds}/{rec.fd_limit} threads={rec.threads}")
    if kind is OomKill:
        return (f"oom    pid={rec.pid} {rec.comm} rss={rec.rss_bytes >> 20}MiB "
                f"memcg={rec.memcg or '(host)'} limit={rec.memory_limit_bytes >> 20}MiB")
    if kind is PressureSample:
        return (f"psi    {rec.resource} cgroup={rec.cgroup} some={rec.some_ns / 1e9:.3f}s "
                f"full={rec.full_ns / 1e9:.3f}s")
    if kind is Alert:
        subject = f"pid={rec.subject.pid} {rec.subject.comm}" if rec.subject.pid else "host"
        line = f"ALERT  [{rec.severity}] {rec.rule} {rec.state}: {subject}: {rec.message}"
        if rec.annotation and rec.annotation.get("summary"):
            line += f" | {rec.annotation['summary']}"
        return line
    return repr(rec)


def detailed(rec: Record) -> str:
    return f"{type(rec).__name__} {json.dumps(asdict(rec), default=str, sort_keys=True)}"


class DebugExporter(Exporter):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._verbosity = config["verbosity"]
        self._interval = parse_duration(config["summary_interval"])
        self._out = sys.stdout if config["stream"] == "stdout" else sys.stderr
        self._queue: queue.Queue = queue.Queue(maxsize=config["queue_size"])
        self._counts: collections.Counter = collections.Counter()
        self._counts_lock = threading.Lock()
        self._dropped = settings.context.telemetry.counter(
            "otel_linnix.exporter.debug.dropped", "Console lines dropped (queue full)")
        self._thread = threading.Thread(target=self._run, name=f"debug-{settings.id}", daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def consume(self, signal: Signal, records: Sequence[Record]) -> None:
        if self._verbosity == "basic":
            with self._counts_lock:
                for rec in records:
                    self._counts[(signal.value, type(rec).__name__)] += 1
                    if type(rec) is ProcessExit and rec.fork_folded:  # its fork and execs, too
                        self._counts[(signal.value, ProcessStart.__name__)] += 1
                        if rec.execs_folded:
                            self._counts[(signal.value, ProcessExec.__name__)] += \
                                len(rec.execs_folded)
            if signal is Signal.LOGS:  # alerts are logs: print them once, not per pipeline
                for rec in records:
                    if type(rec) is Alert:
                        self._put(rec)
        else:
            for rec in records:
                for one in standing_for(rec):  # a folded exit's fork and exec lines, too
                    self._put(one)

    def _put(self, rec: Record) -> None:
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            self._dropped.add()

    def _run(self) -> None:
        next_summary = time.monotonic() + self._interval
        while True:
            try:
                item = self._queue.get(timeout=max(0.05, next_summary - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                self._summary()
                return
            if item is not None:
                line = detailed(item) if self._verbosity == "detailed" else describe(item)
                self._write(line)
            if time.monotonic() >= next_summary:
                self._summary()
                next_summary = time.monotonic() + self._interval

    def _summary(self) -> None:
        if self._verbosity != "basic" or not self._counts:
            return
        with self._counts_lock:
            counts, self._counts = self._counts, collections.Counter()
        parts = [f"{sig}:{name}={n}" for (sig, name), n in sorted(counts.items())]
        self._write("summary " + " ".join(parts))

    def _write(self, line: str) -> None:
        try:
            self._out.write(line + "\n")
            self._out.flush()
        except (OSError, ValueError):
            self._dropped.add()

    def force_flush(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._queue.empty()

    def shutdown(self, timeout: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
