"""Twice as many busy workers as cores, in one cgroup, for ``--seconds``: tasks wait for a CPU
most of the time (CPU pressure), and the cgroup's workers are the ones using it."""

import argparse
import os
import signal
import time

from confine import confine, end_children, own_process_group, say


def spin(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
    os._exit(0)


def cpu_cgroup() -> str:
    with open("/proc/self/cgroup") as fh:
        rows = [line.rstrip("\n").split(":", 2) for line in fh]
    return next((path for _, ctl, path in rows if "cpu" in ctl.split(",")),
                next((path for h, _, path in rows if h == "0"), ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--per-core", type=int, default=2)
    args = ap.parse_args()
    own_process_group()
    say("confined", **confine("cpu-contention", seconds=args.seconds + 5, cpu_group=True))
    workers = []
    for _ in range(args.per_core * (os.cpu_count() or 1)):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            spin(args.seconds)
        workers.append(pid)
    say("onset", workers=workers, culprit=workers, cgroup=cpu_cgroup())
    for pid in workers:
        os.waitpid(pid, 0)
    end_children()
    say("done")


if __name__ == "__main__":
    main()
