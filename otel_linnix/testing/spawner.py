"""A workload that spawns a known mix of short-lived processes and says exactly what it spawned.

Run as ``python -m otel_linnix.testing.spawner N``: N/5 each of /bin/true, ``sh -c 'exit 7'``,
a /bin/sleep killed by SIGKILL after its exec, and a parent that forks a grandchild and exits
before it (the grandchild exits 5 later) — so N processes in all. Prints one JSON object per
process: pid, ppid, exe, argv, exit code, signal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _exec_child(path: str, argv: list[str]) -> tuple[int, int]:
    """Fork + exec; returns (pid, fd that reads EOF once the exec has happened)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.execv(path, argv)
        finally:
            os._exit(127)
    os.close(w)
    return pid, r


def _wait_exec(fd: int) -> None:
    os.read(fd, 1)  # EOF: the write end closed on exec
    os.close(fd)


def spawn(n: int) -> list[dict]:
    me = os.getpid()
    out: list[dict] = []
    for i in range(n // 5):
        pid, fd = _exec_child("/bin/true", ["/bin/true", f"run-{i}"])
        os.close(fd)
        os.waitpid(pid, 0)
        out.append(dict(pid=pid, ppid=me, exe="/bin/true", argv=["/bin/true", f"run-{i}"],
                        code=0, signal=0))

        pid, fd = _exec_child("/bin/sh", ["sh", "-c", "exit 7"])
        os.close(fd)
        os.waitpid(pid, 0)
        out.append(dict(pid=pid, ppid=me, exe="/bin/sh", argv=["sh", "-c", "exit 7"], code=7,
                        signal=0))

        pid, fd = _exec_child("/bin/sleep", ["sleep", "30"])
        _wait_exec(fd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        out.append(dict(pid=pid, ppid=me, exe="/bin/sleep", argv=["sleep", "30"], code=0,
                        signal=9))

        r, w = os.pipe()
        parent = os.fork()
        if parent == 0:  # the middle process: fork a grandchild, report it, exit first
            os.close(r)
            grandchild = os.fork()
            if grandchild == 0:
                time.sleep(0.05)
                os._exit(5)
            os.write(w, str(grandchild).encode())
            os._exit(0)
        os.close(w)
        grandchild = int(os.read(r, 32))
        os.close(r)
        os.waitpid(parent, 0)
        out.append(dict(pid=parent, ppid=me, exe="", argv=[], code=0, signal=0))
        out.append(dict(pid=grandchild, ppid=parent, exe="", argv=[], code=5, signal=0))
    time.sleep(0.2)  # let the last grandchildren finish
    return out


if __name__ == "__main__":
    for item in spawn(int(sys.argv[1])):
        print(json.dumps(item))
