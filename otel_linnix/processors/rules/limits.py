"""The limits that bite: memory a process may use before it is killed, tasks a host, cgroup
or user may hold before fork fails."""

from __future__ import annotations

import os

from otel_linnix import memcg


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            value = fh.read().strip()
    except OSError:
        return None
    return int(value) if value.isdigit() else None  # "max" → None


def mem_total() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 2**63


def memory_limit(pid: int) -> int:
    """The memory limit of ``pid``'s cgroup (v2 memory.max, v1 memory.limit_in_bytes), or
    MemTotal when it has none or a larger one."""
    total = mem_total()
    limit = memcg.limit_bytes(memcg.cgroup_of(pid)[1])
    return limit if 0 < limit < total else total


# ---- processes / threads -----------------------------------------------------------------------

_PIDS_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
#: A host has a few hundred cgroups; a walk stops here all the same.
MAX_CGROUPS = 4096


def host_task_limit() -> int:
    """How many tasks the host can hold: the lower of ``kernel.pid_max`` and ``threads-max``."""
    values = [_read_int(f"/proc/sys/kernel/{name}") for name in ("pid_max", "threads-max")]
    return min([v for v in values if v] or [2**22])


def host_tasks() -> int:
    """Tasks (threads included) on the host: the kernel's count in /proc/loadavg."""
    try:
        with open("/proc/loadavg") as fh:
            return int(fh.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 0


def nproc_limit(pid: int) -> int | None:
    """Soft RLIMIT_NPROC of ``pid`` (None: unlimited or unknown)."""
    try:
        with open(f"/proc/{pid}/limits") as fh:
            for line in fh:
                if line.startswith("Max processes"):
                    soft = line.split()[2]
                    return int(soft) if soft.isdigit() else None
    except OSError:
        pass
    return None


def limited_pids_cgroups() -> dict[str, int]:
    """Every cgroup with a ``pids.max`` below "max" → that limit (v1 pids hierarchy or v2)."""
    found: dict[str, int] = {}
    seen = 0
    for root in _PIDS_ROOTS:
        if not os.path.exists(f"{root}/cgroup.procs"):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            seen += 1
            if seen > MAX_CGROUPS:
                dirnames.clear()
                break
            if "pids.max" in filenames:
                limit = _read_int(f"{dirpath}/pids.max")
                if limit is not None:
                    found[dirpath] = limit
        if found or os.path.exists(f"{root}/pids.current"):
            break  # the v1 pids hierarchy, or v2 with the pids controller: one is enough
    return found


def pids_current(cgroup_dir: str) -> int | None:
    return _read_int(f"{cgroup_dir}/pids.current")


def cgroup_members(cgroup_dir: str, cap: int = 4096) -> list[int]:
    """Pids in the cgroup and its children (bounded)."""
    pids: list[int] = []
    for dirpath, _, _ in os.walk(cgroup_dir):
        try:
            with open(f"{dirpath}/cgroup.procs") as fh:
                pids.extend(int(line) for line in fh if line.strip())
        except (OSError, ValueError):
            continue
        if len(pids) >= cap:
            return pids[:cap]
    return pids
