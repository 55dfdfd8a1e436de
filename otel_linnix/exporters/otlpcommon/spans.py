"""Process lifetimes → OTLP spans (protobuf, built directly: see bench/ for why not SDK spans).

One span per lifetime: fork → exit, named after the executable, the parent process's span as
parent, one trace per process tree. Exec and alerts inside a lifetime become span events.

An alert about a process whose span was already exported is *not* turned into a span event or an extra span: it is not lost, because the logs pipeline
carries every alert as a log record holding that span's trace and span ids (``trace_of`` also
answers for recently finished processes), which backends link to the span.

State is bounded: trace ids of at most ``max_tracked`` live processes plus ``max_done`` recently
finished ones (so late children and late alerts still find their trace), ``max_events`` per
span, and events kept for at most ``max_tracked`` processes.
"""

from __future__ import annotations

import datetime
import functools
from collections import OrderedDict

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.semconv._incubating.attributes import process_attributes as P
from opentelemetry.semconv._incubating.attributes.container_attributes import CONTAINER_ID

from otel_linnix.component import AgentContext
from otel_linnix.exporters.otlpcommon.ids import span_id, trace_id
from otel_linnix.exporters.otlpcommon.resource import kv, set_attrs
from otel_linnix.records import (
    Alert,
    ProcessExec,
    ProcessExit,
    ProcessKey,
    ProcessStart,
    Record,
    process_key,
)

SIGNAL_ATTR = "otel_linnix.process.signal"
CORE_ATTR = "otel_linnix.process.core_dumped"
UNFINISHED_ATTR = "otel_linnix.process.unfinished"
FORK_SEEN_ATTR = "otel_linnix.process.fork_seen"


def _appended(spans: list) -> Span:
    span = Span()
    spans.append(span)
    return span


_last_second: tuple[int, str] = (-1, "")


def iso(wall_ns: int) -> str:
    """ISO 8601 UTC with microseconds. The date-time part is formatted once per second (in a
    fork storm thousands of spans share it); one tuple swap keeps it safe across threads."""
    global _last_second
    sec, ns = divmod(wall_ns, 1_000_000_000)
    cached = _last_second
    if cached[0] != sec:
        cached = _last_second = (sec, datetime.datetime.fromtimestamp(
            sec, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{ns // 1000:06d}+00:00"


@functools.lru_cache(maxsize=4096)
def _container_id(cgroup_path: str) -> str:
    """Container id from a cgroup path; cached, a host has few distinct cgroups."""
    from otel_linnix.containers import identify

    return identify(cgroup_path).container_id


def span_name(exe: str, comm: str) -> str:
    return exe.rsplit("/", 1)[-1] if exe else (comm or "process")


class SpanMapper:
    def __init__(self, ctx: AgentContext, max_tracked: int = 200_000, max_events: int = 16,
                 exec_events: bool = True, max_done: int = 65_536) -> None:
        self._ctx = ctx
        self._max_tracked = max_tracked
        self._max_done = max_done
        self._max_events = max_events
        self._exec_events = exec_events
        self._trace: OrderedDict[ProcessKey, bytes] = OrderedDict()
        self._done: OrderedDict[ProcessKey, bytes] = OrderedDict()  # recently finished
        self._events: OrderedDict[ProcessKey, list[Span.Event]] = OrderedDict()
        self._reported: OrderedDict[ProcessKey, None] = OrderedDict()  # aged, sent unfinished
        self.evicted = 0
        self.skipped_alert_events = 0
        self.latest_ns = 0  # newest record time seen: the clock process ages are measured on

    def add(self, records: list[Record], spans=None):
        """Finished spans for ``records``, appended to ``spans`` (a repeated Span field of a
        request, so nothing is copied) or to a new list."""
        spans = [] if spans is None else spans
        if records:
            last = records[-1]
            self.latest_ns = max(self.latest_ns, getattr(last, "exit_ns", 0) or getattr(
                last, "ts_ns", 0) or getattr(last, "start_ns", 0))
        for rec in records:
            kind = type(rec)
            if kind is ProcessStart:
                self._remember(rec.key, self._trace_for(rec.key, rec.ppid, rec.parent_start_ns))
            elif kind is ProcessExit:
                self._finish(rec, spans.add() if hasattr(spans, "add") else _appended(spans))
            elif kind is ProcessExec and self._exec_events:
                # the span's own attributes carry the last exe and argv; the event marks when
                self._event(rec.key, "exec", rec.ts_ns, {P.PROCESS_EXECUTABLE_PATH: rec.exe})
            elif kind is Alert and rec.subject.pid and self._alive(rec.subject):
                self._event(process_key(rec.subject.pid, rec.subject.start_ns), "alert",
                            rec.last_seen_ns, {"otel_linnix.alert.rule": rec.rule,
                                               "otel_linnix.alert.severity": rec.severity,
                                               "otel_linnix.alert.state": rec.state,
                                               "otel_linnix.alert.message": rec.message})
        return spans

    def trace_of(self, key: ProcessKey) -> bytes | None:
        found = self._trace.get(key)
        return found if found is not None else self._done.get(key)

    def _alive(self, subject) -> bool:
        """Whether the alert's subject still has a span to come (see the module docstring)."""
        if process_key(subject.pid, subject.start_ns) not in self._done:
            return True  # its span is still to come (events are bounded if it never does)
        self.skipped_alert_events += 1
        return False

    def _trace_for(self, key: ProcessKey, ppid: int, parent_start_ns: int) -> bytes:
        boot = self._ctx.host.boot_id
        if ppid <= 2 or not parent_start_ns:
            return trace_id(boot, key)
        parent_key = process_key(ppid, parent_start_ns)
        known = self.trace_of(parent_key)
        if known is not None:
            return known
        parent = self._ctx.process_table.get_key(parent_key)
        return trace_id(boot, parent.tree_root if parent else key)

    def _remember(self, key: ProcessKey, tid: bytes) -> None:
        self._trace[key] = tid
        if len(self._trace) > self._max_tracked:
            old, _ = self._trace.popitem(last=False)
            self._events.pop(old, None)
            self.evicted += 1

    def _event(self, key: ProcessKey, name: str, ts_ns: int, attrs: dict) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = []
            if len(self._events) > self._max_tracked:
                self._events.popitem(last=False)
                self.evicted += 1
        if len(events) < self._max_events:
            events.append(Span.Event(name=name, time_unix_nano=self._ctx.host.wall_ns(ts_ns),
                                     attributes=[kv(k, v) for k, v in attrs.items()]))

    def _finish(self, rec: ProcessExit, span: Span, unfinished: bool = False) -> Span:
        key = rec.key
        tid = self._trace.pop(key, None) or self._trace_for(key, rec.ppid, rec.parent_start_ns)
        if not unfinished:
            self._done[key] = tid
            if len(self._done) > self._max_done:
                self._done.popitem(last=False)
            self._reported.pop(key, None)
        else:
            self._trace[key] = tid  # still alive: its children and its final span need it
        host = self._ctx.host
        start, end = host.wall_ns(rec.start_ns), host.wall_ns(rec.exit_ns)
        name = span_name(rec.exe, rec.comm)
        attrs = {
            P.PROCESS_PID: rec.pid, P.PROCESS_PARENT_PID: rec.ppid,
            P.PROCESS_EXECUTABLE_NAME: name, P.PROCESS_USER_ID: rec.uid,
            P.PROCESS_CREATION_TIME: iso(start), FORK_SEEN_ATTR: rec.fork_seen,
        }
        if rec.exe:
            attrs[P.PROCESS_EXECUTABLE_PATH] = rec.exe
        if rec.argv:
            attrs[P.PROCESS_COMMAND_ARGS] = rec.argv
        if rec.cgroup_path:
            attrs[P.PROCESS_LINUX_CGROUP] = rec.cgroup_path
            container = self._container(rec)
            if container:
                attrs[CONTAINER_ID] = container
        if unfinished:
            attrs[UNFINISHED_ATTR] = True
        else:
            attrs[P.PROCESS_EXIT_TIME] = iso(end)
            attrs[P.PROCESS_EXIT_CODE] = rec.exit_code if not rec.signal else 128 + rec.signal
            if rec.signal:
                attrs[SIGNAL_ATTR] = rec.signal
                attrs[CORE_ATTR] = rec.core_dumped
        span.trace_id = tid
        span.span_id = span_id(host.boot_id, key)
        if rec.ppid > 2 and rec.parent_start_ns:
            span.parent_span_id = span_id(host.boot_id, process_key(rec.ppid, rec.parent_start_ns))
        span.name = name
        span.kind = Span.SPAN_KIND_INTERNAL
        span.start_time_unix_nano = start
        span.end_time_unix_nano = max(end, start)
        set_attrs(span.attributes, attrs)
        events = self._events.get(key) if unfinished else self._events.pop(key, None)
        if events:
            span.events.extend(events)
        if rec.failed and not unfinished:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = (f"killed by signal {rec.signal}" if rec.signal
                                   else f"exit code {rec.exit_code}")
        return span

    def _container(self, rec: ProcessExit) -> str:
        return _container_id(rec.cgroup_path) if rec.cgroup_path else ""

    def unfinished(self, now_ns: int, older_than_ns: int | None = None) -> list[Span]:
        """Spans for processes still alive, ended ``now_ns`` and marked unfinished.

        At shutdown (``older_than_ns`` None) every live process is reported. Periodically, with
        ``older_than_ns`` set, only processes that old and not reported before are, so
        long-lived daemons become visible without waiting for their exit. Their final span at
        exit carries the same ids (it supersedes the unfinished one in the backend).
        """
        spans = []
        for proc in self._ctx.process_table.snapshot():
            if older_than_ns is not None:
                if now_ns - proc.start_ns < older_than_ns or proc.key in self._reported:
                    continue
                self._reported[proc.key] = None
                if len(self._reported) > self._max_tracked:
                    self._reported.popitem(last=False)
            rec = ProcessExit(pid=proc.pid, ppid=proc.original_ppid or proc.ppid,
                              start_ns=proc.start_ns, parent_start_ns=proc.parent_start_ns,
                              exit_ns=now_ns, uid=proc.uid, gid=proc.gid, comm=proc.comm,
                              exe=proc.exe, argv=proc.argv, cgroup_path=proc.cgroup_path,
                              fork_seen=proc.fork_seen)
            self._finish(rec, _appended(spans), unfinished=True)
        return spans
