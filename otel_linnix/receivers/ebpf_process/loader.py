"""Load the BPF program through the loader process; read its ring buffer and loss counters.

Preconditions are checked first so a user sees "needs root" or "no BTF" rather than a compiler
dump. Compilation happens in ``bpfload`` (bcc, Debian's python3-bpfcc, against the installed
headers, with every struct offset taken from the running kernel's BTF), never in this process.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import TypeVar

from otel_linnix.receivers.ebpf_process import btf
from otel_linnix.receivers.ebpf_process.bpfsys import PerCpuU64Array
from otel_linnix.receivers.ebpf_process.contract import LOST_LIFETIME, LOST_RINGBUF, RESCUED
from otel_linnix.receivers.ebpf_process.ringbuf import RingBuffer

TRACEFS = "/sys/kernel/tracing"
#: The share of the main ring written between two of the kernel's wake-ups of the agent while
#: records gather (the programs' WAKE_BYTES): it drains when it finds half that pending.
WAKE_FILL = 0.25
T = TypeVar("T")


class LoadError(RuntimeError):
    pass


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


#: The initial pid namespace's inode (PROC_PID_INIT_INO): an agent there sees every pid.
INIT_PID_NS = 0xEFFFFFFC


def own_pid_namespace() -> int | None:
    """The inode of the agent's pid namespace when it is not the host's (a sidecar sharing a
    workload's namespace): the kernel side then reports pids as this namespace numbers them,
    the numbers the agent's /proc shows, and nothing from outside it."""
    inode = os.stat("/proc/self/ns/pid").st_ino
    return None if inode == INIT_PID_NS else inode


class Probe:
    """The loaded program, as the file descriptors the loader process handed over.

    ``read`` returns the raw records the kernel produced since the last call, decoded by the
    caller in one batch; ``close`` detaches the programs by closing their attachments.
    """

    def __init__(self, ringbuf_pages: int = 1024, max_lifetimes: int = 131072,
                 timeout: float = 120.0, traceparent: bool = True,
                 rescue_pages: int | None = None) -> None:
        check_preconditions()
        rescue_pages = rescue_pages or max(16, ringbuf_pages // 16)
        defines = {"RINGBUF_PAGES": ringbuf_pages, "RESCUE_PAGES": rescue_pages,
                   "MAX_LIFETIMES": max_lifetimes, "TRACEPARENT_SCAN": int(traceparent),
                   "WAKE_BYTES": int(ringbuf_pages * mmap.PAGESIZE * WAKE_FILL)}
        pidns = own_pid_namespace()
        if pidns is not None:
            defines["PIDNS_INUM"] = pidns
        spec = {"source": "process_events.bpf.c", "maps": ["events", "rescue", "lost"],
                "defines": defines}
        self.info, fds = _run_loader(spec, timeout)
        self._fds = fds
        maps = self.info["maps"]
        self._ring = RingBuffer(fds[maps["events"]], ringbuf_pages * mmap.PAGESIZE)
        self._rescue = RingBuffer(fds[maps["rescue"]], rescue_pages * mmap.PAGESIZE)
        self._ring.watch(fds[maps["rescue"]], edge=True)  # one wait covers both rings
        self._lost = PerCpuU64Array(fds[maps["lost"]])
        self._closed = False

    def read(self) -> list[bytes]:
        """The raw records of both rings: the main ring's, then the rescued ones."""
        return self._ring.read() + self._rescue.read()

    def wait(self, timeout: float | None = None) -> None:
        """Until the kernel signals either ring (see ``RingBuffer.wait``), a watched fd is
        readable, or ``timeout``."""
        self._ring.wait(timeout)

    def watch(self, fd: int) -> None:
        self._ring.watch(fd)

    def pending(self) -> bool:
        """Records in either ring not yet consumed."""
        return self._ring.pending() > 0 or self._rescue.pending() > 0

    def fill(self) -> float:
        """How full the fuller ring buffer is (0 to 1)."""
        return max(self._ring.pending() / self._ring.size,
                   self._rescue.pending() / self._rescue.size)

    def consume(self, decode: Callable[[list[memoryview]], T]) -> T:
        """``decode`` over the new records in place (see RingBuffer.consume)."""
        return self._ring.consume(decode)

    def consume_rescued(self, decode: Callable[[list[memoryview]], T]) -> T:
        """``decode`` over what the rescue ring took since the last call. Read right after
        ``consume``: every record it returns happened before the next batch of the main ring,
        though not necessarily after all of this one's."""
        return self._rescue.consume(decode)

    def lost(self) -> dict[str, int]:
        return {"ringbuf": self._lost.sum(LOST_RINGBUF),
                "lifetime_map": self._lost.sum(LOST_LIFETIME)}

    def rescued(self) -> int:
        """Records the main ring refused and the rescue ring took (none lost)."""
        return self._lost.sum(RESCUED)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._ring.close()
            self._rescue.close()
            for fd in self._fds:
                os.close(fd)


def _run_loader(spec: dict, timeout: float) -> tuple[dict, list[int]]:
    """Start ``bpfload`` with one end of a socket pair; receive its description and fds."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        proc = subprocess.Popen(
            [sys.executable, "-m", "otel_linnix.receivers.ebpf_process.bpfload",
             str(theirs.fileno()), json.dumps(spec)],
            pass_fds=(theirs.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        theirs.close()
        ours.settimeout(timeout)
        try:
            msg, fds, _, _ = socket.recv_fds(ours, 1 << 16, 64)
        except (TimeoutError, OSError) as exc:
            proc.kill()
            raise LoadError(f"the BPF loader process did not answer in {timeout:.0f}s: {exc}") \
                from None
        finally:
            _, err = proc.communicate(timeout=timeout)
    if not msg:
        raise LoadError(f"the BPF loader process exited with {proc.returncode}: "
                        f"{err.decode(errors='replace').strip()[-2000:]}")
    desc = json.loads(msg)
    if "error" in desc:
        for fd in fds:
            os.close(fd)
        raise LoadError(desc["error"] + (f"\n{desc['detail']}" if desc.get("detail") else ""))
    return desc, fds
