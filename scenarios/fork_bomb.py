"""A bounded fork bomb: children fork grandchildren as fast as they can, the live tree grows to
``--cap`` processes, everything ends after ``--seconds``. Confined by pids.max (or RLIMIT_NPROC)."""

import argparse
import os
import signal
import time

from confine import confine, own_process_group, say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--cap", type=int, default=300)
    args = ap.parse_args()
    own_process_group()
    say("confined", **confine("fork-bomb", pids_max=args.cap + 50, seconds=args.seconds + 5))
    say("onset")
    deadline = time.monotonic() + args.seconds
    live = []
    while time.monotonic() < deadline:
        try:
            pid = os.fork()
        except OSError:  # pids.max reached: the failure the alert should precede
            say("failure", reason="fork failed (pids limit)")
            time.sleep(0.05)
            continue
        if pid == 0:  # each child forks once more, then lingers (the tree keeps growing)
            try:
                if os.fork() == 0:
                    time.sleep(args.seconds)
                    os._exit(0)
            except OSError:
                pass
            time.sleep(args.seconds)
            os._exit(0)
        live.append(pid)
        if len(live) * 2 >= args.cap:  # keep forking at full rate, but recycle the oldest
            old = live.pop(0)
            os.kill(old, signal.SIGKILL)
            os.waitpid(old, 0)
    say("done")
    os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    main()
