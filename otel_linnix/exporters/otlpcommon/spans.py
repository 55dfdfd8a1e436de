"""Process lifetimes → OTLP spans, encoded straight to protobuf bytes (see wire.py for why).

One span per lifetime: fork → exit, named after the executable, the parent process's span as
parent, one trace per process tree. Exec and alerts inside a lifetime become span events. A
lifetime its receiver reports still running (``ProcessRunning``) also gets one span ended at the
report, marked unfinished, with the ids of the final one.

The process table owns process identity and trees: every exit record arrives stamped with its
tree root, so the mapper keeps no per-process trace state of its own. What it keeps, bounded,
is exporter-local: events waiting for their span (``max_events`` per span, at most
``max_tracked`` processes) and which spans it already emitted (``max_done``), so that an alert
about a process whose span is gone is not held as an event for ever. Such an alert is not
lost: the logs pipeline carries every alert as a log record holding the span's trace and span
ids (``trace_of``), which backends link to the span.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from opentelemetry.semconv._incubating.attributes import process_attributes as P
from opentelemetry.semconv._incubating.attributes.container_attributes import CONTAINER_ID

from otel_linnix.component import AgentContext
from otel_linnix.exporters.otlpcommon import wire
from otel_linnix.exporters.otlpcommon.ids import span_id, span_id_hasher, trace_id, trace_id_of
from otel_linnix.exporters.otlpcommon.logs import culprit_attributes
from otel_linnix.exporters.otlpcommon.resource import Workload, workload_of
from otel_linnix.records import (
    NS_PER_TICK,
    Alert,
    ProcessExec,
    ProcessExit,
    ProcessKey,
    ProcessRunning,
    ProcessStart,
    Record,
    process_key,
)

SIGNAL_ATTR = "otel_linnix.process.signal"
CORE_ATTR = "otel_linnix.process.core_dumped"
UNFINISHED_ATTR = "otel_linnix.process.unfinished"
FORK_SEEN_ATTR = "otel_linnix.process.fork_seen"
#: Set on a lifetime the kernel's OOM killer ended, with what it saw (``oom.*`` below).
OOM_ATTR = "otel_linnix.process.oom_killed"
OOM_PREFIX = "otel_linnix.oom."


def span_name(exe: str, comm: str) -> str:
    return exe.rsplit("/", 1)[-1] if exe else (comm or "process")


_ZERO_SPAN_ID = bytes(8)
#: Executables whose exec event parts are kept encoded (then the cache starts over).
_MAX_EXEC_PARTS = 4096
_PID = wire.int_prefix(P.PROCESS_PID)
_PPID = wire.int_prefix(P.PROCESS_PARENT_PID)


def _sibling(rec: ProcessExit) -> tuple:
    """What a span shares with its siblings' (same parent, tree, command, user, cgroup,
    ending): consecutive exits of a fork storm or a build step differ only in pid and times.
    Spelled out rather than an ``attrgetter``, which compiled reads the fields as slowly as
    interpreted code does."""
    return (rec.ppid, rec.parent_start_ns, rec.tree_root, rec.exe, rec.comm, rec.argv, rec.uid,
            rec.cgroup_path, rec.fork_seen, rec.exit_code, rec.signal, rec.core_dumped)


class SpanMapper:
    def __init__(self, ctx: AgentContext, max_tracked: int = 200_000, max_events: int = 16,
                 exec_events: bool = True, max_done: int = 65_536, unfinished: bool = True
                 ) -> None:
        self._table = ctx.process_table
        self._host = ctx.host
        self._max_tracked = max_tracked
        self._max_done = max_done
        self._max_events = max_events
        self._exec_events = exec_events
        self._events: OrderedDict[ProcessKey, list[bytes]] = OrderedDict()
        self._emitted: dict[ProcessKey, None] = {}  # final span built (this generation)
        self._emitted_old: dict[ProcessKey, None] = {}
        self._unfinished = unfinished  # spans of ProcessRunning reports
        self._attr = wire.AttrEncoder()
        self._exec_parts: dict[str, bytes] = {}  # exe → an exec event's encoded name + attribute
        self._heads: dict[tuple, tuple[bytes, bytes]] = {}
        self._tails: dict[tuple, tuple[bytes, bytes]] = {}
        self._span_hasher = span_id_hasher(ctx.host.boot_id)
        self._ppids: dict[int, bytes] = {}
        self._clean_exit = self._tail(ProcessExit(0, 0, 0, 0, 0, 0, 0, ""), False)
        self._trace_ids: dict[ProcessKey, bytes] = {}  # tree root → trace id (roots repeat)
        self._span_ids: dict[ProcessKey, bytes] = {}   # parents repeat across their children
        #: (``_sibling`` of the last common-case lifetime, its ``_parts``)
        self._last_sibling: tuple = ((), b"", b"", b"", None, b"")
        self.evicted = 0
        self.skipped_alert_events = 0

    def add(self, records: list[Record]) -> dict[Workload, list[bytes]]:
        """Encoded spans of the lifetimes that ``records`` finish, and of the still-running
        processes they report (marked unfinished), by the container / pod they ran in."""
        groups: dict[Workload, list[bytes]] = {}
        rec: Any  # dispatched on type(rec), which a type checker cannot narrow
        path, group = None, []  # the last cgroup and its group: a storm's spans share one
        for rec in records:
            kind = type(rec)
            if kind is ProcessExit:
                span = self._finish(rec)
            elif kind is ProcessStart:  # as many as exits in a fork storm, and no span part
                continue
            elif kind is ProcessRunning and self._unfinished:
                span = self._finish(as_exit(rec), unfinished=True)
            else:
                self._other(kind, rec)
                continue
            if rec.cgroup_path is not path:
                path = rec.cgroup_path
                group = groups.setdefault(workload_of(path), [])
            group.append(span)
        return groups

    def _other(self, kind: type, rec: Any) -> None:
        """Records that become events of a span still to come."""
        if kind is ProcessExec and self._exec_events:
            self._add_event(rec.key, self._exec_event(rec))
        elif kind is Alert and rec.subject.pid and self._span_to_come(rec.subject):
            self._event(process_key(rec.subject.pid, rec.subject.start_ns), "alert",
                        rec.last_seen_ns, {"otel_linnix.alert.rule": rec.rule,
                                           "otel_linnix.alert.severity": rec.severity,
                                           "otel_linnix.alert.state": rec.state,
                                           "otel_linnix.alert.message": rec.message,
                                           **culprit_attributes(rec.subject)})

    def _exec_event(self, rec: ProcessExec) -> bytes:
        """The span's own attributes carry the last exe and argv; an exec event marks when."""
        parts = self._exec_parts.get(rec.exe)
        if parts is None:
            if len(self._exec_parts) >= _MAX_EXEC_PARTS:
                self._exec_parts.clear()
            parts = self._exec_parts[rec.exe] = wire.event_parts(
                "exec", {P.PROCESS_EXECUTABLE_PATH: rec.exe})
        return wire.timed_event(self._host.wall_ns(rec.ts_ns), parts)

    def trace_of(self, key: ProcessKey) -> bytes | None:
        return trace_id_of(self._table, self._host.boot_id, key)

    def _span_to_come(self, subject) -> bool:
        """Whether the alert's subject still has a span to come (see the module docstring)."""
        key = process_key(subject.pid, subject.start_ns)
        if key not in self._emitted and key not in self._emitted_old:
            return True  # its span is still to come (events are bounded if it never does)
        self.skipped_alert_events += 1
        return False

    def _trace_id(self, root: ProcessKey) -> bytes:
        found = self._trace_ids.get(root)
        if found is None:
            if len(self._trace_ids) >= self._max_done:
                self._trace_ids.clear()
            found = self._trace_ids[root] = trace_id(self._host.boot_id, root)
        return found

    def _parent_span_id(self, key: ProcessKey) -> bytes:
        found = self._span_ids.get(key)
        if found is None:
            if len(self._span_ids) >= self._max_done:
                self._span_ids.clear()
            found = self._span_ids[key] = span_id(self._host.boot_id, key)
        return found

    def _event(self, key: ProcessKey, name: str, ts_ns: int, attrs: dict) -> None:
        self._add_event(key, wire.event(self._host.wall_ns(ts_ns), name, attrs))

    def _add_event(self, key: ProcessKey, event: bytes) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = []
            if len(self._events) > self._max_tracked:
                self._events.popitem(last=False)
                self.evicted += 1
        if len(events) < self._max_events:
            events.append(event)

    def _finish(self, rec: ProcessExit, unfinished: bool = False) -> bytes:
        key = (rec.pid, rec.start_ns // NS_PER_TICK)
        if not unfinished:
            self._emitted[key] = None
            if len(self._emitted) >= self._max_done // 2:  # two generations, like the table's
                self._emitted_old, self._emitted = self._emitted, {}
        offset = self._host.boot_offset_ns
        start, end = rec.start_ns + offset, rec.exit_ns + offset
        events = None
        if self._events:
            events = self._events.get(key) if unfinished else self._events.pop(key, None)
        if rec.execs_folded and self._exec_events:  # its exec records, in the order they came
            execs = rec.execs_folded[:self._max_events]
            events = [*map(self._exec_event, execs), *(events or ())][:self._max_events]
        if unfinished or rec.oom_killed or rec.trace_ctx is not None or rec.tree_root == (0, 0):
            name, attrs, status, parent, trace = self._parts(rec, key, unfinished)
        else:  # the common case: what siblings share is looked up once per run of them
            sibling = _sibling(rec)
            last = self._last_sibling
            if sibling != last[0]:
                last = self._last_sibling = (sibling, *self._parts(rec, key, False))
            name, attrs, status, parent, trace = last[1:]
        pid = self._attr.int(_PID, rec.pid)
        body = pid + attrs + status if not events else b"".join((pid, attrs, *events, status))
        if rec.trace_ctx is not None:  # joined an application's trace through TRACEPARENT
            trace_hex, remote_parent, trace_state = rec.trace_ctx
            return wire.span_field(bytes.fromhex(trace_hex), self._span_id(key),
                                   bytes.fromhex(remote_parent) if remote_parent else parent,
                                   name, start, max(end, start), body, trace_state)
        return wire.span_field(trace, self._span_id(key), parent, name, start, max(end, start),
                               body)

    def _parts(self, rec: ProcessExit, key: ProcessKey, unfinished: bool
               ) -> tuple[bytes, bytes, bytes, bytes | None, bytes]:
        """(name field, attributes but the pid, status, parent span id, trace id) of a
        lifetime's span: all but the pid shared with its siblings of the same command."""
        ident = (rec.exe, rec.comm, rec.argv, rec.uid, rec.cgroup_path, rec.fork_seen)
        head = self._heads.get(ident)
        if head is None:
            head = self._head(ident)
        if rec.oom_killed and not unfinished:  # rare, and every one differs: not cached
            tail = self._oom_tail(rec)
        elif not (unfinished or rec.exit_code or rec.signal):
            tail = self._clean_exit
        else:
            ending = (True,) if unfinished else (rec.exit_code, rec.signal, rec.core_dumped)
            cached = self._tails.get(ending)
            if cached is None:
                cached = self._tails[ending] = self._tail(rec, unfinished)
            tail = cached
        ppid = self._ppids.get(rec.ppid)  # siblings share their parent: encoded once
        if ppid is None:
            if len(self._ppids) >= 4096:
                self._ppids.clear()
            ppid = self._ppids[rec.ppid] = self._attr.int(_PPID, rec.ppid)
        parent = None
        if rec.ppid > 2 and rec.parent_start_ns:
            parent_key = (rec.ppid, rec.parent_start_ns // NS_PER_TICK)
            parent = self._span_ids.get(parent_key) or self._parent_span_id(parent_key)
        root = rec.tree_root if rec.tree_root != (0, 0) else key
        trace = self._trace_ids.get(root) or self._trace_id(root)
        return head[0], ppid + head[1] + tail[0], tail[1], parent, trace

    def _head(self, ident: tuple) -> tuple[bytes, bytes]:
        """(name field, attributes) of what a process ran and as whom: the same for every
        lifetime of one command, so encoded once (bounded cache)."""
        exe, comm, argv, uid, cgroup_path, fork_seen = ident
        attr, name = self._attr, span_name(exe, comm)
        attrs = [attr(P.PROCESS_EXECUTABLE_NAME, name), attr(P.PROCESS_USER_ID, uid)]
        if not fork_seen:
            attrs.append(attr(FORK_SEEN_ATTR, False))
        if exe:
            attrs.append(attr(P.PROCESS_EXECUTABLE_PATH, exe))
        if argv:
            attrs.append(attr(P.PROCESS_COMMAND_ARGS, argv))
        if cgroup_path:
            attrs.append(attr(P.PROCESS_LINUX_CGROUP, cgroup_path))
            container = workload_of(cgroup_path)[0]
            if container:
                attrs.append(attr(CONTAINER_ID, container))
        if len(self._heads) >= 4096:
            self._heads.clear()
        head = self._heads[ident] = (wire.span_name_field(name), b"".join(attrs))
        return head

    def _tail(self, rec: ProcessExit, unfinished: bool) -> tuple[bytes, bytes]:
        """(attributes, status) of how a lifetime ended; a handful of distinct values."""
        attr = self._attr
        if unfinished:
            return attr(UNFINISHED_ATTR, True), b""
        attrs = attr(P.PROCESS_EXIT_CODE, rec.exit_code if not rec.signal else 128 + rec.signal)
        if rec.signal:
            attrs += attr(SIGNAL_ATTR, rec.signal) + attr(CORE_ATTR, rec.core_dumped)
        if not rec.failed:
            return attrs, b""
        return attrs, wire.error_status(f"killed by signal {rec.signal}" if rec.signal
                                        else f"exit code {rec.exit_code}")

    def _oom_tail(self, rec: ProcessExit) -> tuple[bytes, bytes]:
        """The ending of an OOM kill: the signal, the OOM killer named as its cause, and the
        victim's memory at death and its cgroup's limit, when the kill record was seen."""
        attrs = self._tail(rec, False)[0] + self._attr(OOM_ATTR, True)
        for name, value in (rec.oom or {}).items():
            attrs += self._attr(OOM_PREFIX + name, value)
        return attrs, wire.error_status("killed by the OOM killer")

    def _span_id(self, key: ProcessKey) -> bytes:
        hasher = self._span_hasher.copy()
        hasher.update(b"%d|%d" % key)
        digest = hasher.digest()
        return digest if digest != _ZERO_SPAN_ID else span_id(self._host.boot_id, key)


def as_exit(rec: ProcessRunning) -> ProcessExit:
    """A still-running lifetime as if it ended at the report: the span it gets meanwhile."""
    return ProcessExit(pid=rec.pid, ppid=rec.ppid, start_ns=rec.start_ns,
                       parent_start_ns=rec.parent_start_ns, exit_ns=rec.ts_ns, uid=rec.uid,
                       gid=rec.gid, comm=rec.comm, exe=rec.exe, argv=rec.argv,
                       cgroup_path=rec.cgroup_path, fork_seen=rec.fork_seen,
                       tree_root=rec.tree_root, trace_ctx=rec.trace_ctx)
