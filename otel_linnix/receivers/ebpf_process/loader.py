"""Compile, load and attach the BPF program; read its loss counters; unload it.

Preconditions are checked first so a user sees "needs root" or "no BTF" rather than a compiler
dump. Compilation uses bcc (Debian's python3-bpfcc) against the installed headers, with every
struct offset taken from the running kernel's BTF.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from importlib import resources
from typing import Callable

from otel_linnix.receivers.ebpf_process import btf
from otel_linnix.receivers.ebpf_process.contract import LOST_LIFETIME, LOST_RINGBUF

TRACEFS = "/sys/kernel/tracing"


class LoadError(RuntimeError):
    pass


def _bpf_dir() -> str:
    return str(resources.files("otel_linnix.data").joinpath("bpf"))


def check_preconditions() -> None:
    if os.geteuid() != 0:
        raise LoadError("the ebpf_process receiver needs root (or CAP_BPF + CAP_PERFMON): "
                        "run as root, or use the replay receiver")
    if not os.path.exists(btf.VMLINUX_BTF):
        raise LoadError(f"kernel has no BTF ({btf.VMLINUX_BTF} missing): "
                        "a kernel built with CONFIG_DEBUG_INFO_BTF=y is required")
    if not os.path.isdir(f"{TRACEFS}/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], capture_output=True)
        if not os.path.isdir(f"{TRACEFS}/events"):
            raise LoadError(f"tracefs is not mounted at {TRACEFS} and mounting it failed: "
                            f"mount -t tracefs nodev {TRACEFS}")
    try:
        import bcc  # noqa: F401
    except ImportError:
        raise LoadError("bcc is not importable: install Debian's python3-bpfcc and run from a "
                        "virtualenv made with --system-site-packages (make setup does)") from None


class Probe:
    """The loaded program. ``poll`` hands raw records to ``on_record``."""

    def __init__(self, on_record: Callable[[bytes], None], ringbuf_pages: int = 1024,
                 max_lifetimes: int = 131072) -> None:
        check_preconditions()
        from bcc import BPF

        try:
            offsets = btf.offsets()
        except btf.BTFError as exc:
            raise LoadError(str(exc)) from None
        bpf_dir = _bpf_dir()
        cflags = [f"-D{name}={value}" for name, value in offsets.items()]
        cflags += [f"-DRINGBUF_PAGES={ringbuf_pages}", f"-DMAX_LIFETIMES={max_lifetimes}",
                   f"-I{bpf_dir}", "-Wno-macro-redefined"]
        try:
            self._bpf = BPF(src_file=f"{bpf_dir}/process_events.bpf.c".encode(), cflags=cflags)
        except Exception as exc:
            raise LoadError(f"could not compile/load the BPF program: {exc}") from None

        def callback(_ctx, data, size):
            on_record(ctypes.string_at(data, size))

        self._callback = callback  # keep a reference: bcc holds only a C pointer
        self._bpf["events"].open_ring_buffer(callback)
        self._closed = False

    def poll(self, timeout_ms: int) -> None:
        self._bpf.ring_buffer_poll(timeout_ms)

    def lost(self) -> dict[str, int]:
        table = self._bpf["lost"]
        return {"ringbuf": sum(table[ctypes.c_int(LOST_RINGBUF)]),
                "lifetime_map": sum(table[ctypes.c_int(LOST_LIFETIME)])}

    def live_lifetimes(self) -> int:
        return len(self._bpf["lifetimes"])

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bpf.cleanup()
