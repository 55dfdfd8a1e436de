"""Run the real eBPF receiver in a test and pick out the records of one process subtree.

Other work runs on the same host while tests do, so live tests never assume a quiet machine:
they select the descendants of their own spawner by following parent links.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from otel_linnix.component import CreateSettings
from otel_linnix.config.schema import deep_merge
from otel_linnix.records import ProcessExit, ProcessStart, Record
from otel_linnix.testing.sinks import ListConsumer, test_context


@contextmanager
def live_receiver(**config):
    """Yields (receiver, sink, context) with the receiver attached; detaches on exit."""
    from otel_linnix.receivers.ebpf_process import FACTORY

    ctx = test_context()
    receiver = FACTORY.create(CreateSettings("ebpf_process", ctx, logging.getLogger("live")),
                              deep_merge(FACTORY.defaults, config))
    sink = ListConsumer()
    receiver.consumer = sink
    receiver.start()
    try:
        yield receiver, sink, ctx
    finally:
        receiver.shutdown()


def descendants(records: list[Record], root_pid: int) -> set[int]:
    """Pids forked (directly or not) by ``root_pid``, from fork / exit parent links."""
    children: dict[int, set[int]] = {}
    for rec in records:
        if type(rec) in (ProcessStart, ProcessExit):
            children.setdefault(rec.ppid, set()).add(rec.pid)
    found, todo = set(), [root_pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_for_exits(sink: ListConsumer, pids: set[int], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {r.pid for r in list(sink.records) if type(r) is ProcessExit}
        if pids <= seen:
            return True
        time.sleep(0.05)
    return False
