"""A /proc-polling process scraper, as the Collector's hostmetrics ``process`` scraper works.

Every ``interval`` it lists /proc and reads each process's stat, status and cmdline (what the
hostmetrics scraper reads for its metrics); it remembers every process it ever saw as
(pid, ppid, start wall ns). A process born and gone between two scans is never seen: that is
what its capture ratio measures. ``python -m bench.peers.proc_scraper OUT.json [INTERVAL_S]``;
writes OUT.json on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _boot_wall_ns() -> int:
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def scan(seen: dict[tuple[int, int], int], boot_wall: int) -> None:
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/status") as f:
                f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                f.read()
        except OSError:  # gone between listdir and open
            continue
        start = boot_wall + int(fields[19]) * _TICK_NS
        seen.setdefault((int(name), start), int(fields[1]))


def main() -> int:
    out, interval = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen: dict[tuple[int, int], int] = {}
    boot_wall = _boot_wall_ns()
    scan(seen, boot_wall)
    print("ready", file=sys.stderr, flush=True)
    while not stop.wait(interval):
        scan(seen, boot_wall)
    with open(out, "w") as f:
        json.dump([[pid, ppid, start, 0] for (pid, start), ppid in seen.items()], f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
