"""Leaks ``--rate`` MiB/s inside a memory cgroup of ``--limit`` MiB until the limit (the OOM
killer) or ``--seconds``."""

import argparse
import time

from confine import confine, say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=256)
    ap.add_argument("--rate", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    say("confined", **confine("memory-leak", memory_max=args.limit << 20, seconds=args.seconds))
    say("onset", limit=args.limit << 20)
    leak = []
    deadline = time.monotonic() + args.seconds
    used = 0
    while time.monotonic() < deadline:
        block = bytearray(args.rate << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        leak.append(block)
        used += len(block)
        if used >= (args.limit << 20) - (16 << 20):
            say("failure", reason="reached the memory limit", rss=used)
            break
        time.sleep(1)
    say("done")


if __name__ == "__main__":
    main()
