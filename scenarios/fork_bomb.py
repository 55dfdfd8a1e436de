"""The classic shell fork bomb, ``b(){ b|b& }; b``, in a cgroup with ``pids.max`` (default 2000),
for ``--seconds``. Every generation is re-parented to init and the starting shell exits at once:
the culprit lives on only in the fork-time lineage. The scenario reports the starting shell's
pid (``culprit``) and ``failure`` when the cgroup is full (forks fail from then on)."""

import argparse
import os
import signal
import subprocess
import time

from confine import confine, own_process_group, say

BOMB = "b(){ b|b& }; b"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--cap", type=int, default=2000, help="pids.max of the bomb's cgroup")
    args = ap.parse_args()
    own_process_group()
    applied = confine("fork-bomb", pids_max=args.cap, seconds=args.seconds + 10)
    say("confined", **applied)
    group = applied.get("cgroup_dir")
    bomb = subprocess.Popen(["bash", "-c", BOMB], start_new_session=True,
                            stderr=subprocess.DEVNULL)
    signal.signal(signal.SIGALRM, lambda *_: (stop(bomb.pid, group), os._exit(1)))
    say("onset", culprit=bomb.pid)
    deadline = time.monotonic() + args.seconds
    full = False
    while time.monotonic() < deadline:
        if not full and group and _current(group) >= args.cap - 5:
            full = True
            say("failure", reason="pids.max reached: forks fail")
        time.sleep(0.01)
    stop(bomb.pid, group)
    say("done")


def _current(group: str) -> int:
    try:
        with open(f"{group}/pids.current") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 0


def stop(session: int, group: str | None) -> None:
    """Kill the bomb's session until it is empty: a bomb forks while it is being killed."""
    for _ in range(200):
        try:
            os.killpg(session, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if group is None or _current(group) <= 1:  # only this scenario left in the group
            break
        time.sleep(0.02)


if __name__ == "__main__":
    main()
