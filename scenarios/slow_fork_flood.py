"""A slower fork flood: ``--rate`` children a second that never exit, in a cgroup with
``pids.max`` ``--cap``, until fork fails (``failure``) or ``--seconds``. The alert should come
well before the failure: the live count grows steadily toward a limit that will bite."""

import argparse
import os
import signal
import time

from confine import confine, end_children, own_process_group, say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=40)
    ap.add_argument("--cap", type=int, default=800)
    ap.add_argument("--seconds", type=float, default=40)
    args = ap.parse_args()
    own_process_group()
    say("confined", **confine("slow-fork-flood", pids_max=args.cap, seconds=args.seconds + 5))
    say("onset", culprit=os.getpid())
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            pid = os.fork()
        except OSError:
            say("failure", reason="fork failed (pids limit)")
            time.sleep(1)
            break
        if pid == 0:
            signal.pause()
            os._exit(0)
        time.sleep(1 / args.rate)
    say("done")
    end_children()


if __name__ == "__main__":
    main()
