"""Seed the process table from /proc, so processes older than the agent are known and the
children they fork link to them."""

from __future__ import annotations

from collections.abc import Callable

from otel_linnix import procfs
from otel_linnix.containers import identify
from otel_linnix.proctable import Process, ProcessTable
from otel_linnix.redact import bound_argv, redact_argv


def process_from_proc(pid: int, max_args: int = 64, max_bytes: int = 4096) -> Process | None:
    stat = procfs.read_stat(pid)
    if stat is None:
        return None
    ids = procfs.read_ids(pid) or (0, 0)
    argv, truncated = bound_argv(procfs.read_cmdline(pid) or (), max_args, max_bytes)
    parent = procfs.read_stat(stat.ppid) if stat.ppid > 0 else None
    cgroup = procfs.read_cgroup(pid)
    return Process(
        pid=pid, ppid=stat.ppid, start_ns=stat.start_ns,
        parent_start_ns=parent.start_ns if parent else 0, original_ppid=stat.ppid,
        uid=ids[0], gid=ids[1], comm=stat.comm, exe=procfs.read_exe(pid),
        argv=redact_argv(argv), argv_truncated=truncated, cgroup_path=cgroup,
        container_id=identify(cgroup).container_id, fork_seen=False,
    )


def seed(table: ProcessTable, max_args: int = 64, max_bytes: int = 4096,
         admit: Callable[[Process], bool] | None = None) -> int:
    """Insert every live process not already known (parents first, so trees link), or those
    ``admit`` lets in (a sidecar's cgroup). Returns count."""
    procs = [p for pid in procfs.pids() if pid not in table
             and (p := process_from_proc(pid, max_args, max_bytes)) is not None
             and (admit is None or admit(p))]
    procs.sort(key=lambda p: p.start_ns)
    for proc in procs:
        table.insert(proc)
    return len(procs)
