"""Can this machine load BPF programs? Answered once, with a reason a skip message can show."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

_PROBE = r"""
from bcc import BPF
BPF(text='TRACEPOINT_PROBE(sched, sched_process_exit) { return 0; }')
"""


@functools.lru_cache(maxsize=1)
def bpf_unavailable_reason() -> str | None:
    """None when a trivial tracepoint program compiles and loads; otherwise why not."""
    if os.geteuid() != 0:
        return "BPF tests need root (run as root, as CI does)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux missing)"
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "bcc not importable: install Debian's python3-bpfcc (make setup does)"
    # In a child process: a failed compile prints to stderr and may leave state behind.
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"kernel cannot load BPF here: {tail}"
    return None
