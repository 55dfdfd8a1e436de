"""Spins one core for ``--seconds`` (a stuck loop)."""

import argparse
import time

from confine import confine, say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    say("confined", **confine("cpu-spin", seconds=args.seconds + 2))
    say("onset")
    deadline = time.monotonic() + args.seconds
    x = 0
    while time.monotonic() < deadline:
        x += 1
    say("done")


if __name__ == "__main__":
    main()
