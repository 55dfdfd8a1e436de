"""The few bpf(2) calls the agent makes itself, through ctypes, so it never imports bcc.

bcc (and the LLVM it carries, ~60 MB) is needed only to compile and load the program; that
happens in a short-lived loader process (``bpfload``). What the long-running agent does with
the maps it is handed is small: read the per-CPU loss counters, and mmap the ring buffer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import struct

#: __NR_bpf per architecture (the syscall has no libc wrapper).
_NR_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351,
           "riscv64": 280}
_BPF_MAP_LOOKUP_ELEM = 1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long


class BpfError(OSError):
    pass


class _MapElemAttr(ctypes.Structure):
    """``union bpf_attr`` as BPF_MAP_*_ELEM reads it (map_fd, then aligned u64 pointers)."""

    _fields_ = [("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("key", ctypes.c_uint64), ("value", ctypes.c_uint64), ("flags", ctypes.c_uint64)]


def _nr_bpf() -> int:
    machine = platform.machine()
    if machine not in _NR_BPF:
        raise BpfError(f"bpf(2): unknown syscall number on {machine}")
    return _NR_BPF[machine]


def possible_cpus(path: str = "/sys/devices/system/cpu/possible") -> int:
    """How many slots a per-CPU map value has: the kernel sizes it by *possible* CPUs."""
    with open(path) as fh:
        text = fh.read().strip()
    top = 0
    for part in text.split(","):
        top = max(top, int(part.split("-")[-1]))
    return top + 1


class PerCpuU64Array:
    """A BPF_PERCPU_ARRAY of u64 read by index: the sum over CPUs."""

    def __init__(self, map_fd: int) -> None:
        self.fd = map_fd
        self._ncpu = possible_cpus()
        self._value = ctypes.create_string_buffer(8 * self._ncpu)
        self._key = ctypes.c_uint32()
        self._nr = _nr_bpf()

    def sum(self, index: int) -> int:
        self._key.value = index
        attr = _MapElemAttr(map_fd=self.fd, key=ctypes.addressof(self._key),
                            value=ctypes.addressof(self._value))
        if _libc.syscall(self._nr, _BPF_MAP_LOOKUP_ELEM, ctypes.byref(attr),
                         ctypes.sizeof(attr)) != 0:
            err = ctypes.get_errno()
            raise BpfError(err, f"bpf(MAP_LOOKUP_ELEM, index {index}): {os.strerror(err)}")
        return sum(struct.unpack_from(f"<{self._ncpu}Q", self._value.raw))
