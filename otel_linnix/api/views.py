"""JSON shapes of processes, process graphs and alerts (wall-clock ISO times, no SDK types)."""

from __future__ import annotations

import datetime
from dataclasses import asdict

from otel_linnix.host import HostInfo
from otel_linnix.proctable import Process
from otel_linnix.records import (
    Alert,
    ProcessExec,
    ProcessExit,
    ProcessStart,
    Record,
    standing_for,
)

SORT_KEYS = {
    "cpu": lambda p: -(p.last_sample.cpu_user_ns + p.last_sample.cpu_system_ns) if p.last_sample else 0,
    "rss": lambda p: -p.last_sample.rss_bytes if p.last_sample else 0,
    "fds": lambda p: -p.last_sample.fds if p.last_sample else 0,
    "start": lambda p: p.start_ns,
}


def iso(host: HostInfo, boot_ns: int) -> str | None:
    if not boot_ns:
        return None
    wall = host.wall_ns(boot_ns) / 1e9
    return datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat()


def process(proc: Process, host: HostInfo) -> dict:
    s = proc.last_sample
    return {
        "pid": proc.pid, "ppid": proc.ppid, "original_ppid": proc.original_ppid,
        "comm": proc.comm, "exe": proc.exe, "argv": list(proc.argv), "uid": proc.uid,
        "start_time": iso(host, proc.start_ns), "cgroup": proc.cgroup_path,
        "container_id": proc.container_id, "fork_seen": proc.fork_seen,
        "sample": None if s is None else {
            "cpu_seconds": (s.cpu_user_ns + s.cpu_system_ns) / 1e9, "rss_bytes": s.rss_bytes,
            "vms_bytes": s.vms_bytes, "threads": s.threads, "fds": s.fds, "fd_limit": s.fd_limit,
            "time": iso(host, s.ts_ns)},
    }


def alert(a: Alert, host: HostInfo) -> dict:
    out = asdict(a)
    out["first_seen"] = iso(host, a.first_seen_ns)
    out["last_seen"] = iso(host, a.last_seen_ns)
    return out


def events(rec: Record, host: HostInfo) -> tuple[dict, ...]:
    """The process events a record is for /stream: none for records the stream does not
    carry, its fork's and execs' too for an exit that stands for them (``standing_for``)."""
    if type(rec) is ProcessExit and rec.fork_folded:
        return tuple(e for r in standing_for(rec) if (e := event(r, host)) is not None)
    data = event(rec, host)
    return () if data is None else (data,)


def _fork(rec: ProcessStart | ProcessExit, host: HostInfo) -> dict:
    return {"type": "fork", "pid": rec.pid, "ppid": rec.ppid, "comm": rec.comm,
            "uid": rec.uid, "time": iso(host, rec.start_ns), "cgroup": rec.cgroup_path}


def event(rec: Record, host: HostInfo) -> dict | None:
    """A process event for /stream; None for records the stream does not carry."""
    kind = type(rec)
    if isinstance(rec, ProcessStart):
        return _fork(rec, host)
    if kind is ProcessExec:
        return {"type": "exec", "pid": rec.pid, "comm": rec.comm, "exe": rec.exe,
                "argv": list(rec.argv), "uid": rec.uid, "time": iso(host, rec.ts_ns)}
    if kind is ProcessExit:
        return {"type": "exit", "pid": rec.pid, "ppid": rec.ppid, "comm": rec.comm,
                "exe": rec.exe, "uid": rec.uid, "exit_code": rec.exit_code,
                "signal": rec.signal, "duration_ms": (rec.exit_ns - rec.start_ns) / 1e6,
                "time": iso(host, rec.exit_ns), "cgroup": rec.cgroup_path}
    return None
