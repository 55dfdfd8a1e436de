"""Raw ring-buffer records → the project's records. Pure functions, testable without BPF.

The ring-buffer callback only copies bytes; decoding happens here in batches after each poll,
so the per-event Python work stays one bytes copy plus one ``unpack_from``.
"""

from __future__ import annotations

import struct
from typing import Callable, Iterable

from otel_linnix.receivers.ebpf_process.contract import (
    EVENT_EXEC,
    EVENT_EXIT,
    EVENT_FORK,
    EXEC_HEAD,
    EXIT,
    FORK,
)
from otel_linnix.records import ProcessExec, ProcessExit, ProcessStart, Record
from otel_linnix.redact import bound_argv, redact_argv

_TYPE = struct.Struct("<I")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


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
    """Turns raw events into records; ``cgroup_path`` resolves a pid's cgroup (best effort)."""

    def __init__(self, argv_max_args: int = 64, argv_max_bytes: int = 4096,
                 cgroup_path: Callable[[int], str] | None = None) -> None:
        self._max_args = argv_max_args
        self._max_bytes = argv_max_bytes
        self._cgroup_path = cgroup_path or (lambda pid: "")
        self.unknown = 0

    def decode(self, raws: Iterable[bytes]) -> list[Record]:
        out: list[Record] = []
        for raw in raws:
            kind = _TYPE.unpack_from(raw)[0]
            if kind == EVENT_EXIT:
                out.append(self._exit(raw))
            elif kind == EVENT_FORK:
                out.append(self._fork(raw))
            elif kind == EVENT_EXEC:
                out.append(self._exec(raw))
            else:
                self.unknown += 1
        return out

    def _fork(self, raw: bytes) -> ProcessStart:
        (_, pid, ppid, uid, gid, _, start, pstart, cgid, comm) = FORK.unpack_from(raw)
        return ProcessStart(pid, ppid, start, pstart, uid, gid, _text(comm), cgid)

    def _exec(self, raw: bytes) -> ProcessExec:
        (_, pid, uid, args_len, ts, start, truncated, _, comm, filename) = EXEC_HEAD.unpack_from(raw)
        args = raw[EXEC_HEAD.size:EXEC_HEAD.size + args_len]
        argv, cut = bound_argv(split_args(args, args_len), self._max_args, self._max_bytes)
        return ProcessExec(pid, start, ts, _text(comm), _text(filename), redact_argv(argv),
                           bool(truncated) or cut, uid)

    def _exit(self, raw: bytes) -> ProcessExit:
        (_, pid, ppid, uid, gid, code, start, pstart, exit_ns, utime, stime, cgid, threads, execs,
         fork_seen, _, comm) = EXIT.unpack_from(raw)
        status, signal, core = decode_exit_code(code)
        return ProcessExit(pid=pid, ppid=ppid, start_ns=start, parent_start_ns=pstart,
                           exit_ns=exit_ns, uid=uid, gid=gid, comm=_text(comm), exit_code=status,
                           signal=signal, core_dumped=core, cgroup_id=cgid, exec_count=execs,
                           threads_created=threads, cpu_user_ns=utime, cpu_system_ns=stime,
                           fork_seen=bool(fork_seen))
