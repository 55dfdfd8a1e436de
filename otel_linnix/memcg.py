"""Memory cgroups as the kernel shows them: which one a process is in, its limit, its OOM kills.

cgroup v2 (``memory.max``, ``memory.events``) and the v1 memory hierarchy
(``memory.limit_in_bytes``, ``memory.oom_control``) both answer; a value of "max", or v1's
page-rounded "unlimited", is no limit (0).
"""

from __future__ import annotations

import os

from otel_linnix import procfs

V2_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
V1_ROOT = "/sys/fs/cgroup/memory"
#: v1 reports "no limit" as a huge page-rounded number (PAGE_COUNTER_MAX pages).
_V1_UNLIMITED = 1 << 60
#: A host has a few hundred cgroups; a walk stops here all the same.
MAX_CGROUPS = 4096


def v2_root() -> str | None:
    """Where the cgroup v2 hierarchy is mounted (the hybrid layout's /sys/fs/cgroup/unified
    first), or None."""
    for root in V2_ROOTS:
        if os.path.exists(f"{root}/cgroup.procs") and \
                os.path.exists(f"{root}/cgroup.subtree_control"):
            return root
    return None


def cgroup_of(pid: int) -> tuple[str, str]:
    """(path, directory) of ``pid``'s memory cgroup; ("", "") when it is gone or unknown."""
    path = procfs.read_controller_cgroup(pid, "memory")
    found = directory(path) if path else ""
    return (path, found) if found and os.path.isdir(found) else ("", "")


def directory(path: str) -> str:
    """The directory of a memory cgroup given by its path ("" when there is none)."""
    if os.path.isdir(V1_ROOT):
        return V1_ROOT + path.rstrip("/")
    v2 = v2_root()
    return v2 + path.rstrip("/") if v2 else ""


def limit_bytes(cgroup_dir: str) -> int:
    """The cgroup's memory limit, 0 when it has none."""
    for name in ("memory.max", "memory.limit_in_bytes"):
        text = procfs.read_text(f"{cgroup_dir}/{name}")
        if text is not None:
            value = text.strip()
            return int(value) if value.isdigit() and int(value) < _V1_UNLIMITED else 0
    return 0


def _field(text: str | None, name: str) -> int | None:
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def oom_kills(cgroup_dir: str) -> int | None:
    """Processes the OOM killer killed in this cgroup (v2 memory.events, v1 memory.oom_control;
    None: not a memory cgroup, or a kernel without the counter)."""
    found = _field(procfs.read_text(f"{cgroup_dir}/memory.events"), "oom_kill")
    if found is None:
        found = _field(procfs.read_text(f"{cgroup_dir}/memory.oom_control"), "oom_kill")
    return found


def host_oom_kills() -> int:
    """OOM kills on the host since boot (/proc/vmstat)."""
    return _field(procfs.read_text("/proc/vmstat"), "oom_kill") or 0


def limited_cgroups(cap: int = 256) -> dict[str, str]:
    """Memory cgroups that have a limit, as path → directory (bounded)."""
    root = V1_ROOT if os.path.isdir(V1_ROOT) else v2_root()
    found: dict[str, str] = {}
    if root is None:
        return found
    for seen, (dirpath, dirnames, _files) in enumerate(os.walk(root)):
        if seen >= MAX_CGROUPS or len(found) >= cap:
            dirnames.clear()
            break
        if dirpath != root and limit_bytes(dirpath):
            found[dirpath[len(root):]] = dirpath
    return found
