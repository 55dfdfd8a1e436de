"""Host identity and the boot-time → wall-clock mapping every exporter needs.

Records carry CLOCK_BOOTTIME ns; the offset to CLOCK_REALTIME is read once (and can be
refreshed) so converting a timestamp costs one addition on the hot path.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass


def _read_first_line(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.readline().strip()
    except OSError:
        return ""


def _realtime_minus_boottime_ns() -> int:
    """Best of a few reads, so a preemption between the two clocks does not skew the offset."""
    best: tuple[int, int] | None = None
    for _ in range(5):
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        b = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        t1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if best is None or (t1 - t0) < best[0]:
            best = (t1 - t0, (t0 + t1) // 2 - b)
    assert best is not None  # the loop ran at least once
    return best[1]


@dataclass(slots=True)
class HostInfo:
    """Identity of the machine: boot id (changes every boot), machine id, hostname."""

    boot_id: str
    machine_id: str
    hostname: str
    #: CLOCK_REALTIME - CLOCK_BOOTTIME in ns.
    boot_offset_ns: int

    @classmethod
    def detect(cls) -> HostInfo:
        boot_id = _read_first_line("/proc/sys/kernel/random/boot_id") or str(uuid.uuid4())
        machine_id = _read_first_line("/etc/machine-id") or _read_first_line(
            "/var/lib/dbus/machine-id"
        )
        return cls(
            boot_id=boot_id,
            machine_id=machine_id,
            hostname=socket.gethostname(),
            boot_offset_ns=_realtime_minus_boottime_ns(),
        )

    def wall_ns(self, boot_ns: int) -> int:
        """Unix-epoch ns for a CLOCK_BOOTTIME timestamp."""
        return boot_ns + self.boot_offset_ns


def boot_ns_now() -> int:
    """Now, on the clock records use."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)

