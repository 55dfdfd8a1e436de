"""A runaway process tree: a supervisor starts workers that each start two helpers, none of
which exit, until ``--target`` live processes (well under the cgroup's pids.max) or
``--seconds``. Nothing fails; the tree just keeps growing. The culprit is the supervisor."""

import argparse
import os
import signal
import time

from confine import confine, end_children, own_process_group, say


def supervisor(rate: float, target: int) -> None:
    live = 0
    while live < target:
        if os.fork() == 0:
            for _ in range(2):
                if os.fork() == 0:
                    signal.pause()
                    os._exit(0)
            signal.pause()
            os._exit(0)
        live += 3
        time.sleep(3 / rate)
    signal.pause()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=60, help="processes a second")
    ap.add_argument("--target", type=int, default=700)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    own_process_group()
    say("confined", **confine("runaway-tree", pids_max=5000, seconds=args.seconds + 5))
    pid = os.fork()
    if pid == 0:
        supervisor(args.rate, args.target)
        os._exit(0)
    say("onset", culprit=pid)
    time.sleep(args.seconds)
    say("done")
    end_children()


if __name__ == "__main__":
    main()
