"""Measurements: process CPU and RSS from /proc, percentiles, and picking a workload's subtree.

The machine is shared, so a workload's processes are never "all spans": they are the spans
whose parent-pid chain leads to the workload's root pid, each child started while its parent
lived (pids wrap at pid_max many times during a storm, so the time check matters).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
SLACK_NS = 50_000_000  # clock granularity between the workload's report and span times


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` (all its threads), in seconds, to the nanosecond: the scheduler's
    own account per thread (/proc/PID/task/TID/schedstat), where utime + stime in /proc/PID/stat
    count whole 10 ms ticks (a 250/s step of a few seconds is only a few ticks)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tids = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    if total:
        return total / 1e9
    with open(f"/proc/{pid}/stat") as f:  # no schedstat (CONFIG_SCHEDSTATS off): ticks
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (libpython, the loader's libraries) counted by
    their share, the fairer figure where several processes map the same files."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def subtree(rows: Iterable[tuple], root_pid: int, start_ns: int, end_ns: int) -> list[tuple]:
    """Rows ``(pid, ppid, start_ns, end_ns, ...)`` descending from ``root_pid``.

    The root lived from ``start_ns`` to ``end_ns``; a row is its child when its ppid is the
    root's pid and it started within the root's life, and so on down the tree.
    """
    by_ppid: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_ppid[row[1]].append(row)
    found: list[tuple] = []
    todo = [(root_pid, start_ns - SLACK_NS, end_ns + SLACK_NS)]
    seen: set[tuple[int, int]] = set()
    while todo:
        pid, born, died = todo.pop()
        for row in by_ppid.get(pid, ()):
            key = (row[0], row[2])
            if born <= row[2] <= died and key not in seen:
                seen.add(key)
                found.append(row)
                todo.append((row[0], row[2], (row[3] or died) + SLACK_NS))
    return found


def ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None
