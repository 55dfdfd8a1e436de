"""The memory a process may use before it is killed: its cgroup's limit, else the machine's."""

from __future__ import annotations

_V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
_V1_ROOT = "/sys/fs/cgroup/memory"


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
    """cgroup v2 memory.max or v1 memory.limit_in_bytes of ``pid``'s cgroup, else MemTotal."""
    total = mem_total()
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return total
    for line in lines:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        candidates = []
        if hierarchy == "0":
            candidates = [f"{root}{path}/memory.max" for root in _V2_ROOTS]
        elif "memory" in controllers.split(","):
            candidates = [f"{_V1_ROOT}{path}/memory.limit_in_bytes"]
        for candidate in candidates:
            value = _read_int(candidate)
            if value is not None and value < total:
                return value
    return total
