"""``otel-linnix record --duration 10s --out FILE``: capture what the eBPF receiver sees, in the
replay format, so real captures become test fixtures and bug reports."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from otel_linnix import recording
from otel_linnix.commands.run import fail
from otel_linnix.component import AgentContext, CreateSettings
from otel_linnix.config.schema import deep_merge
from otel_linnix.config.types import parse_duration


def register(sub) -> None:
    p = sub.add_parser("record", help="capture process records to a replay file")
    p.add_argument("--duration", default="10s", help="how long to record (e.g. 30s, 5m)")
    p.add_argument("--out", required=True, help="file to write (JSON lines, replay format)")
    p.add_argument("--sample-interval", default="1s", help="sampling interval while recording")
    p.set_defaults(func=record)


class _FileConsumer:
    def __init__(self, writer: recording.Writer) -> None:
        self.writer = writer
        self.count = 0
        self._lock = threading.Lock()

    def consume(self, records) -> None:
        with self._lock:
            self.writer.write(records)
            self.count += len(records)


def record(args) -> int:
    from otel_linnix.receivers.ebpf_process import FACTORY
    from otel_linnix.receivers.ebpf_process.loader import LoadError

    try:
        duration = parse_duration(args.duration)
        parse_duration(args.sample_interval)
    except ValueError as exc:
        return fail(str(exc))
    ctx = AgentContext.create()
    try:
        out = open(args.out, "w", encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc}")
    with out:
        consumer = _FileConsumer(recording.Writer(out, ctx.host))
        receiver: Any = FACTORY.create(CreateSettings("ebpf_process", ctx,
                                                      logging.getLogger("record")),
                                  deep_merge(FACTORY.defaults,
                                             {"sample_interval": args.sample_interval,
                                              # a recording holds what happened; a replay
                                              # reports the processes still running itself
                                              "unfinished_after": 0,
                                              "unfinished_at_shutdown": False}))
        receiver.consumer = consumer
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            receiver.start()
        except LoadError as exc:
            return fail(str(exc))
        stop.wait(duration)
        receiver.shutdown()
    print(f"recorded {consumer.count} records to {args.out}", file=sys.stderr)
    return 0
