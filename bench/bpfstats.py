"""The kernel side's own cost: run time per invocation of the agent's BPF programs.

``kernel.bpf_stats_enabled`` makes the kernel account each program's run time and run count
(it costs a clock read per run, so it is switched on only around the measured workload and
restored after); ``bpftool -j prog show`` reports them. The agent's programs are the tracepoint
programs that appeared when it started (other tools on the host may run BPF too).
"""

from __future__ import annotations

import json
import subprocess
from contextlib import contextmanager
from pathlib import Path

_SYSCTL = Path("/proc/sys/kernel/bpf_stats_enabled")


def programs() -> dict[int, dict]:
    """id → bpftool's record of every loaded program ({} where bpftool is missing)."""
    try:
        out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {p["id"]: p for p in json.loads(out or "[]")}


def agent_programs(log_text: str) -> dict[int, str]:
    """id → short name ("fork", "exec", ...) of the agent's programs, from the line its
    receiver logs when attached (the kernel's own names are cut at 15 characters, so the
    exec and exit programs would both read "tracepoint__sch")."""
    for line in log_text.splitlines():
        if "ebpf_process attached" in line and "programs {" in line:
            named = json.loads(line[line.index("programs {") + len("programs "):])
            return {pid: name.rsplit("_", 1)[-1] for name, pid in named.items() if pid}
    return {}


@contextmanager
def stats_enabled():
    old = _SYSCTL.read_text().strip() if _SYSCTL.exists() else None
    if old is not None:
        _SYSCTL.write_text("1")
    try:
        yield
    finally:
        if old is not None:
            _SYSCTL.write_text(old)


def snapshot(ids: dict[int, str]) -> dict[str, tuple[int, int]]:
    progs = programs()
    return {name: (progs[pid].get("run_time_ns", 0), progs[pid].get("run_cnt", 0))
            for pid, name in ids.items() if pid in progs}


def ns_per_run(before: dict, after: dict) -> dict[str, float]:
    """Program name → mean ns per invocation between two snapshots."""
    out = {}
    for name, (t1, n1) in after.items():
        t0, n0 = before.get(name, (0, 0))
        if n1 > n0:
            out[name] = round((t1 - t0) / (n1 - n0), 1)
    return out
