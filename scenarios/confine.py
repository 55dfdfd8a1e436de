"""Confinement shared by every scenario: a dedicated cgroup (v2, else v1 controllers) with
pids.max / memory.max where the kernel offers them, rlimits otherwise, and a hard time limit.

Scenarios print JSON lines on stdout — {"event": "onset" | "failure" | "done", "t": boot ns}
— so a test (or the demo) can measure how far ahead of the failure an alert came.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import signal
import sys
import time

V2 = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def say(event: str, **fields) -> None:
    print(json.dumps({"event": event, "t": now_ns(), **fields}), flush=True)


def _v1_group(controller: str, name: str, settings: dict) -> str | None:
    root = f"/sys/fs/cgroup/{controller}"
    if not os.path.isdir(root) or not os.access(root, os.W_OK):
        return None
    return _join(root, f"{root}/{name}", settings)


def _join(root: str, path: str, settings: dict) -> str | None:
    """Create the group, apply ``settings``, move this process in, and remove it at exit."""
    try:
        os.makedirs(path, exist_ok=True)
        for key, value in settings.items():
            with open(f"{path}/{key}", "w") as fh:
                fh.write(str(value))
        with open(f"{path}/cgroup.procs", "w") as fh:
            fh.write(str(os.getpid()))
        atexit.register(_remove, root, path)
        return path
    except OSError:
        return None


def _remove(root: str, path: str) -> None:
    """Leave the scenario's cgroup and delete it (it must be empty to go)."""
    try:
        with open(f"{root}/cgroup.procs", "w") as fh:
            fh.write(str(os.getpid()))
    except OSError:
        return
    for _ in range(100):  # killed processes leave the group a moment after the signal
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)


def _v2_group(name: str, settings: dict) -> str | None:
    try:
        with open(f"{V2}/cgroup.subtree_control") as fh:
            enabled = fh.read().split()
    except OSError:
        return None
    if not {k.split(".")[0] for k in settings} <= set(enabled):
        return None
    return _join(V2, f"{V2}/{name}", settings)


def confine(name: str, pids_max: int | None = None, memory_max: int | None = None,
            nofile: int | None = None, seconds: float = 60, cpu_group: bool = False) -> dict:
    """Confine this process (and its children); returns what was applied. ``cpu_group``: a
    group of its own for the CPU controller too (v1 cpu hierarchy), so its load is attributable."""
    applied: dict = {"time_limit_s": seconds}
    group = f"otel-linnix-demo-{name}-{os.getpid()}"
    if cpu_group:  # the v2 group (for its PSI) and the v1 cpu controller's, where present
        for made in (_v2_group(group, {}), _v1_group("cpu", group, {})):
            if made:
                applied.setdefault("cpu_cgroup", []).append(made)
    v2 = {k: v for k, v in (("pids.max", pids_max), ("memory.max", memory_max)) if v}
    path = _v2_group(group, v2) if v2 else None
    if path:
        applied["cgroup"] = f"v2:{group}"
        applied["cgroup_dir"] = path
    else:
        path = _v1_group("pids", group, {"pids.max": pids_max}) if pids_max else None
        if path:
            applied["pids.max"] = pids_max
            applied["cgroup_dir"] = path
        if memory_max and _v1_group("memory", group, {"memory.limit_in_bytes": memory_max}):
            applied["memory.limit_in_bytes"] = memory_max
    if pids_max and "pids.max" not in applied and "cgroup" not in applied:
        resource.setrlimit(resource.RLIMIT_NPROC, (pids_max, pids_max))
        applied["RLIMIT_NPROC"] = pids_max
    if memory_max and "memory.limit_in_bytes" not in applied and "cgroup" not in applied:
        resource.setrlimit(resource.RLIMIT_AS, (memory_max * 4, memory_max * 4))
        applied["RLIMIT_AS"] = memory_max * 4
    if nofile:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        applied["RLIMIT_NOFILE"] = nofile
    signal.signal(signal.SIGALRM, lambda *_: _timeout(seconds))
    signal.alarm(int(seconds) + 1)
    return applied


def _timeout(seconds: float) -> None:
    say("done", reason=f"hard time limit {seconds}s")
    os.killpg(0, signal.SIGKILL) if os.getpgid(0) == os.getpid() else sys.exit(0)


def own_process_group() -> None:
    """Lead a process group so the whole scenario can be killed at once."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass


def end_children() -> None:
    """Stop every process of this scenario's group but this one, and reap them."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
