"""Cheap readers of /proc for one process: what the seed and the sampler need, nothing more.

Every reader returns None when the process is gone (it may exit between listing and reading);
callers treat that as "skip", never as an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
NS_PER_CLK = 1_000_000_000 // CLK_TCK


@dataclass(slots=True)
class Stat:
    pid: int
    comm: str
    state: str  # R, S, D, Z (zombie: exited, not yet reaped), ...
    ppid: int
    utime_ns: int
    stime_ns: int
    threads: int
    start_ns: int  # start tick × ns per tick: tick-exact, as records.process_key expects
    vsize: int
    rss_bytes: int


def pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _read_small(path: str) -> bytes | None:
    """One read of a small /proc file: os.read on a raw fd costs half of ``open()``'s buffered
    file object, and the sampler reads one per process per look."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_stat(pid: int) -> Stat | None:
    data = _read_small(f"/proc/{pid}/stat")
    if not data:
        return None
    # comm may contain spaces and parentheses: split around the last ')'.
    lpar, rpar = data.find(b"("), data.rfind(b")")
    fields = data[rpar + 2:].split()
    return Stat(
        pid=pid,
        comm=data[lpar + 1:rpar].decode("utf-8", "replace"),
        state=fields[0].decode("ascii", "replace"),
        ppid=int(fields[1]),
        utime_ns=int(fields[11]) * NS_PER_CLK,
        stime_ns=int(fields[12]) * NS_PER_CLK,
        threads=int(fields[17]),
        start_ns=int(fields[19]) * NS_PER_CLK,
        vsize=int(fields[20]),
        rss_bytes=int(fields[21]) * PAGE_SIZE,
    )


def read_ids(pid: int) -> tuple[int, int] | None:
    """(real uid, real gid) from /proc/PID/status."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            uid = gid = 0
            for line in fh:
                if line.startswith(b"Uid:"):
                    uid = int(line.split()[1])
                elif line.startswith(b"Gid:"):
                    gid = int(line.split()[1])
                    return uid, gid
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            data = fh.read(65536)
    except OSError:
        return None
    data = data.rstrip(b"\0")
    return tuple(a.decode("utf-8", "replace") for a in data.split(b"\0")) if data else ()


def read_exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def read_text(path: str) -> str | None:
    """A small kernel file (cgroup, PSI, vmstat), whole; None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def _cgroup_lines(pid: int) -> list[tuple[str, list[str], str]]:
    """/proc/PID/cgroup as (hierarchy id, controllers, path) rows; [] when gone."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    rows = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        rows.append((hierarchy, controllers.split(",") if controllers else [], path))
    return rows


def read_cgroup(pid: int) -> str:
    """The process's cgroup path: the v2 line if present, else the first named v1 line."""
    rows = _cgroup_lines(pid)
    unified = next((path for h, ctl, path in rows if h == "0" and not ctl), None)
    if unified is not None:
        return unified
    return next((path for _, _, path in rows if path not in ("", "/")), "")


def read_controller_cgroup(pid: int, controller: str) -> str:
    """The process's cgroup for one controller: its v1 hierarchy's line (``cpu``, ``memory``,
    ``blkio``...) when there is one, else the v2 line; "" when gone."""
    rows = _cgroup_lines(pid)
    found = next((path for _, ctl, path in rows if controller in ctl), None)
    if found is not None:
        return found
    return next((path for h, ctl, path in rows if h == "0" and not ctl), "")


def read_run_delay(pid: int) -> int:
    """Nanoseconds the process has spent runnable but waiting for a CPU (/proc/PID/schedstat's
    second field; 0 when gone or unavailable)."""
    data = _read_small(f"/proc/{pid}/schedstat")
    try:
        return int(data.split()[1]) if data else 0
    except (IndexError, ValueError):
        return 0


def _fd_dir_size_counts() -> bool:
    """Since Linux 6.2 the size stat(2) reports for /proc/PID/fd is its number of open files
    (the kernel counts its fd bitmap): one stat instead of listing every fd by name."""
    try:
        return os.stat("/proc/self/fd").st_size > 0  # we hold open files ourselves
    except OSError:
        return False


FD_DIR_SIZE_COUNTS = _fd_dir_size_counts()


def count_fds(pid: int) -> int | None:
    try:
        if FD_DIR_SIZE_COUNTS:
            return os.stat(f"/proc/{pid}/fd").st_size
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def fd_soft_limit(pid: int) -> int | None:
    """Soft RLIMIT_NOFILE (0 for unlimited)."""
    try:
        with open(f"/proc/{pid}/limits", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Max open files"):
                    value = line[26:].split()[0]
                    return 0 if value == "unlimited" else int(value)
    except (OSError, ValueError, IndexError):
        return None
    return None
