"""Raw ring-buffer records → the project's records. Pure functions, testable without BPF.

The ring-buffer callback only copies bytes; decoding happens here in batches after each poll,
so the per-event Python work stays one bytes copy plus one ``unpack_from``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable
from typing import Any

from otel_linnix.receivers.ebpf_process.contract import (
    EVENT_EXEC,
    EVENT_EXIT,
    EVENT_FORK,
    EVENT_OOM,
    EXEC_HEAD,
    EXIT,
    FORK,
    MEMCG_DEPTH,
    MEMCG_NAME_LEN,
    OOM,
)
from otel_linnix.records import (
    OomKill,
    ProcessExec,
    ProcessExit,
    ProcessStart,
    Record,
)
from otel_linnix.redact import bound_argv, redact_argv

_TYPE = struct.Struct("<I")
#: Command lines kept decoded (then the cache starts over), each at most MAX_CACHED_ARGS
#: bytes: a few MB at worst. A longer one is decoded each time (they seldom repeat).
MAX_ARGVS = 1024
MAX_CACHED_ARGS = 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def event_ns(rec: Record) -> int:
    """When the event behind a kernel record happened (boot clock): the order to merge the
    rescue ring's records into the main ring's in."""
    kind = type(rec)
    if kind is ProcessExit:
        return rec.exit_ns  # type: ignore[attr-defined]
    if kind is ProcessStart:
        return rec.start_ns  # type: ignore[attr-defined]
    return rec.ts_ns  # type: ignore[attr-defined]  # exec, OOM kill


def decode_exit_code(raw: int) -> tuple[int, int, bool]:
    """(exit status, terminating signal, core dumped) from the task's raw exit_code."""
    signal = raw & 0x7F
    return ((raw >> 8) & 0xFF if signal == 0 else 0), signal, bool(raw & 0x80)


def split_args(raw: bytes, length: int) -> tuple[str, ...]:
    data = raw[:length]
    if data.endswith(b"\0"):
        data = data[:-1]
    return tuple(a.decode("utf-8", "replace") for a in data.split(b"\0")) if data else ()


class Decoder:
    """Turns raw events into records.

    The hot path of every lifetime: dispatch on the type's low byte, records built with
    positional arguments, and command names (16 bytes that repeat across thousands of
    processes) decoded once into a bounded cache.
    """

    def __init__(self, argv_max_args: int = 64, argv_max_bytes: int = 4096) -> None:
        self._max_args = argv_max_args
        self._max_bytes = argv_max_bytes
        self._comms: dict[bytes, str] = {}
        self._argvs: dict[bytes, tuple[tuple[str, ...], bool]] = {}  # raw args → ``_argv``
        #: The rare kinds; forks and exits, nearly every record, are decoded inline.
        self._handlers: dict[int, Callable[[Any], Record]] = {EVENT_EXEC: self._exec,
                                                               EVENT_OOM: self._oom}
        self.unknown = 0
        #: Forks and execs the last ``decode`` folded into their exits.
        self.folded = self.folded_execs = 0
        #: OOM kill records decoded since the receiver last took them (rare: the receiver
        #: joins cgroup facts into them without a pass over every batch).
        self.ooms: list[OomKill] = []
        #: Exec records with a TRACEPARENT decoded since the receiver last took them (it checks
        #: each one; noted here for the same reason as ``ooms``). Not capped: an exec skipped
        #: here would reach the table unchecked. The receiver takes them with every drain, so
        #: they are at most the execs of one read of the two ring buffers, like the batch itself.
        self.traceparents: list[ProcessExec] = []

    def decode(self, raws: Iterable[bytes | memoryview], fold: bool = False) -> list[Record]:
        """Records from raw events (bytes, or views into the ring buffer: nothing decoded
        keeps a reference to them), in their order.

        With ``fold``, a lifetime whose fork and exit are both in ``raws``, and that nothing
        in between names (an OOM kill of it, a child of it, an exec, exit or OOM kill of its
        parent: what the table would need a live entry for), is its exit alone, marked
        ``fork_folded``: most of a fork storm, at half the records downstream. Its own execs
        in between go into that exit too (``execs_folded``): a build's compiler runs, fork +
        exec + exit, are one record instead of three. The fork's fields are kept as a tuple
        until its exit decides, so a folded one is never built.
        """
        out: list[Any] = []
        append, handlers, comms = out.append, self._handlers, self._comms
        unpack_fork, unpack_exit = FORK.unpack_from, EXIT.unpack_from
        pending: dict[int, int] = {}  # pid → where in ``out`` its fork waits (raw fields)
        held: dict[int, list[int]] = {}  # pid → where its execs are, while its fork waits
        touched: dict[int, int] = {}  # pid → where in ``out`` its last exec / exit / OOM is
        folded = folded_execs = 0
        for raw in raws:
            kind = raw[0] if len(raw) >= 4 and not raw[1] | raw[2] | raw[3] else -1
            try:
                if kind == EVENT_EXIT:
                    (_, pid, ppid, uid, gid, code, start, pstart, exit_ns, utime, stime, cgid,
                     threads, execs, fork_seen, oom_killed, comm) = unpack_exit(raw)
                    at = pending.pop(pid, -1) if pending else -1
                    brief = False
                    name = comms.get(comm)  # ``_comm`` inlined: the hot path of every lifetime
                    if name is None:
                        name = self._comm(comm)
                    execs_at = held.pop(pid, None) if held else None
                    if at >= 0:
                        fork = out[at]  # the same lifetime, as it was at fork, parent untouched
                        brief = (fork[6] == start and fork[2] == ppid and fork[7] == pstart
                                 and fork[3] == uid and fork[4] == gid and fork[8] == cgid
                                 and touched.get(ppid, -1) < at
                                 and (fork[9] == comm if execs_at is None
                                      else out[execs_at[-1]].comm == name))
                        out[at] = None if brief else self._start(fork)
                        folded += brief
                    if fold:
                        touched[pid] = len(out)
                    signal = code & 0x7F
                    # positional, in ProcessExit's field order (test_contract checks them)
                    ended = ProcessExit(pid, ppid, start, pstart, exit_ns, uid, gid, name, "", (),
                                        False, (code >> 8) & 0xFF if signal == 0 else 0, signal,
                                        bool(code & 0x80), cgid, "", execs, threads, utime,
                                        stime, bool(fork_seen), bool(oom_killed), brief)
                    if brief and execs_at is not None:
                        if len(execs_at) == 1:  # the common case, spelled out
                            i = execs_at[0]
                            ended.execs_folded, out[i] = (out[i],), None
                        else:
                            ended.execs_folded = tuple(out[i] for i in execs_at)
                            for i in execs_at:
                                out[i] = None
                        fork_name = self._comm(fork[9])
                        if fork_name != name:
                            ended.fork_comm = fork_name
                        folded_execs += len(execs_at)
                    append(ended)
                elif kind == EVENT_FORK:
                    fields = unpack_fork(raw)
                    if not fold:
                        append(self._start(fields))
                        continue
                    if pending:  # a parent that forks is named: it keeps its fork record
                        self._keep(out, pending, held, fields[2])
                        self._keep(out, pending, held, fields[1])  # pid reuse: a missed exit
                    pending[fields[1]] = len(out)
                    append(fields)
                else:
                    handler = handlers.get(kind)
                    if handler is None:
                        self.unknown += 1
                        continue
                    rec = handler(raw)
                    if fold:
                        at = pending.get(rec.pid, -1) if pending else -1
                        if at >= 0 and kind == EVENT_EXEC and not rec.traceparent \
                                and out[at][6] == rec.start_ns:
                            # held for its exit to take; one with a TRACEPARENT, which the
                            # receiver checks and the table reads, makes its fork a record
                            execs_at = held.get(rec.pid)
                            if execs_at is None:
                                held[rec.pid] = [len(out)]
                            else:
                                execs_at.append(len(out))
                        elif at >= 0:  # anything else that names the lifetime keeps its fork
                            self._keep(out, pending, held, rec.pid)
                        touched[rec.pid] = len(out)
                    append(rec)
            except struct.error:  # shorter than its type's layout: counted, never fatal
                self.unknown += 1
        for at in pending.values():
            out[at] = self._start(out[at])
        self.folded, self.folded_execs = folded, folded_execs
        return [rec for rec in out if rec is not None] if folded else out

    def _keep(self, out: list, pending: dict[int, int], held: dict[int, list[int]],
              pid: int) -> None:
        """``pid``'s waiting fork, if any, becomes a record: something named the lifetime (its
        held execs stay records where they are)."""
        at = pending.pop(pid, -1)
        if at >= 0:
            out[at] = self._start(out[at])
            held.pop(pid, None)

    def _comm(self, raw: bytes) -> str:
        found = self._comms.get(raw)
        if found is None:
            if len(self._comms) >= 4096:
                self._comms.clear()
            found = self._comms[raw] = _text(raw)
        return found

    def _start(self, fields: tuple) -> ProcessStart:
        (_, pid, ppid, uid, gid, _, start, pstart, cgid, comm) = fields
        name = self._comms.get(comm)
        return ProcessStart(pid, ppid, start, pstart, uid, gid,
                            self._comm(comm) if name is None else name, cgid)

    def _exec(self, raw: bytes | memoryview) -> ProcessExec:
        (_, pid, uid, args_len, ts, start, truncated, _, traceparent, tracestate, comm,
         filename) = EXEC_HEAD.unpack_from(raw)
        args = bytes(raw[EXEC_HEAD.size:EXEC_HEAD.size + args_len])  # raw may be a view
        argv, cut = self._argv(args)
        rec = ProcessExec(pid, start, ts, self._comm(comm), _text(filename), argv,
                          bool(truncated) or cut, uid,
                          _text(traceparent) if traceparent[0] else "",
                          _text(tracestate) if tracestate[0] else "")
        if rec.traceparent:
            self.traceparents.append(rec)
        return rec

    def _argv(self, args: bytes) -> tuple[tuple[str, ...], bool]:
        """(argv split, bounded and redacted; cut by the bounds): the same command line comes
        again and again (a shell loop, a CI script, a build's tools), so each is worked out
        once while the cache holds it."""
        found = self._argvs.get(args)
        if found is None:
            argv, cut = bound_argv(split_args(args, len(args)), self._max_args, self._max_bytes)
            found = (redact_argv(argv), cut)
            if len(args) <= MAX_CACHED_ARGS:
                if len(self._argvs) >= MAX_ARGVS:
                    self._argvs.clear()
                self._argvs[args] = found
        return found

    def _oom(self, raw: bytes | memoryview) -> OomKill:
        (_, pid, uid, adj, ts, start, total_vm, anon, file, shmem, pgtables, limit_pages,
         limit_level, levels, comm, names) = OOM.unpack_from(raw)
        memcg = ""
        if limit_pages:  # the cgroup that sets the limit: its level and those above it
            parts = [_text(names[i * MEMCG_NAME_LEN:(i + 1) * MEMCG_NAME_LEN])
                     for i in range(limit_level, min(levels & 0xFF, MEMCG_DEPTH))]
            memcg = ("/…" if levels & 0x100 else "") + "/" + "/".join(reversed(parts))
        rec = OomKill(pid, start, ts, self._comm(comm), uid, adj, total_vm << 10, anon << 10,
                      file << 10, shmem << 10, pgtables << 10, memcg,
                      limit_pages * PAGE_SIZE if limit_pages else 0)
        if len(self.ooms) < 1024:  # bounded, should nobody take them
            self.ooms.append(rec)
        return rec
