"""Opens ``--rate`` files per second under RLIMIT_NOFILE ``--limit`` until EMFILE."""

import argparse
import errno
import time

from confine import confine, say


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=256)
    ap.add_argument("--rate", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    say("confined", **confine("fd-exhaustion", nofile=args.limit, seconds=args.seconds))
    say("onset", limit=args.limit)
    files = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            for _ in range(args.rate):
                files.append(open("/dev/null"))
        except OSError as exc:
            if exc.errno == errno.EMFILE:
                say("failure", reason="EMFILE", fds=len(files))
                break
            raise
        time.sleep(1)
    say("done")


if __name__ == "__main__":
    main()
