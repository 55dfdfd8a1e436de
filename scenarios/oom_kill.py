"""A child allocates past its ``--limit`` MiB memory cgroup until the kernel's OOM killer ends
it (a hard time limit otherwise). Prints the victim's pid at onset and how it died."""

import argparse
import os
import subprocess
import sys

from confine import confine, say

#: Touch every page of 8 MiB blocks until killed: RSS, not just address space, reaches the limit.
HOG = ("import time\nblocks = []\nwhile True:\n    b = bytearray(8 << 20)\n"
       "    for i in range(0, len(b), 4096):\n        b[i] = 1\n    blocks.append(b)\n"
       "    time.sleep(0.01)\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    applied = confine("oom-kill", memory_max=args.limit << 20, seconds=args.seconds)
    say("confined", **applied)
    if "memory.limit_in_bytes" not in applied and "cgroup" not in applied:
        say("done", reason="no memory cgroup to confine the allocation in")
        return
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    say("onset", victim=hog.pid, culprit=hog.pid, limit=args.limit << 20)
    status = hog.wait()
    if status == -9:
        say("failure", reason="killed by SIGKILL (the OOM killer)", victim=hog.pid)
    say("done", returncode=status, oom_kills=_oom_kills())


def _oom_kills() -> int | None:
    """The cgroup's own count (v1 memory.oom_control, v2 memory.events): a cross-check."""
    with open(f"/proc/{os.getpid()}/cgroup") as fh:
        lines = [line.rstrip("\n").split(":", 2) for line in fh]
    files = [f"/sys/fs/cgroup/memory{path}/memory.oom_control" for _, ctl, path in lines
             if "memory" in ctl.split(",")]
    files += [f"/sys/fs/cgroup{path}/memory.events" for h, ctl, path in lines if h == "0"]
    for name in files:
        try:
            with open(name) as f:
                return next(int(row.split()[1]) for row in f if row.startswith("oom_kill "))
        except (OSError, StopIteration):
            continue
    return None


if __name__ == "__main__":
    main()
