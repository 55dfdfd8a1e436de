"""The loader process: compile, load and attach the BPF program, hand its fds to the agent, exit.

``python -m otel_linnix.receivers.ebpf_process.bpfload SOCKET_FD SPEC_JSON``. bcc links LLVM
and clang (~60 MB resident once imported); doing the compile here, in a process that exits
right after, keeps that out of the agent for its whole life. What the agent needs afterwards
is only file descriptors: the maps it reads (ring buffer, loss counters) and the attachments
(tracepoint perf events, raw tracepoint links) that keep the programs in the kernel. They
cross over a Unix socket as SCM_RIGHTS; closing them in the agent detaches everything.

The process leaves with ``os._exit`` so bcc's atexit cleanup does not detach what it just
handed over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
from importlib import resources


def _bpf_dir() -> str:
    return str(resources.files("otel_linnix.data").joinpath("bpf"))


def _load(spec: dict) -> tuple[dict, list[int]]:
    """(description, fds): the description names each fd by its index in ``fds``."""
    t0 = time.monotonic()
    try:
        from bcc import BPF
    except ImportError:
        raise RuntimeError("bcc is not importable: install Debian's python3-bpfcc and run from "
                           "a virtualenv made with --system-site-packages (make setup does)") \
            from None
    from otel_linnix.receivers.ebpf_process import btf

    try:
        offsets = btf.offsets()
    except btf.BTFError as exc:
        raise RuntimeError(str(exc)) from None
    t_btf = time.monotonic()
    bpf_dir = _bpf_dir()
    cflags = [f"-D{name}={value}" for name, value in offsets.items()]
    cflags += [f"-D{name}={value}" for name, value in spec["defines"].items()]
    cflags += [f"-I{bpf_dir}", "-Wno-macro-redefined"]
    try:
        bpf = BPF(src_file=f"{bpf_dir}/{spec['source']}".encode(), cflags=cflags)
    except Exception as exc:
        raise RuntimeError(f"could not compile/load the BPF program: {exc}") from None
    fds: list[int] = []
    maps = {}
    for name in spec["maps"]:
        maps[name] = len(fds)
        fds.append(bpf[name.encode()].map_fd)
    links = [*bpf.tracepoint_fds.values(), *bpf.raw_tracepoint_fds.values()]
    desc = {"maps": maps, "links": list(range(len(fds), len(fds) + len(links))),
            "programs": {name.decode(): _prog_id(fn.fd) for name, fn in bpf.funcs.items()},
            "attached": sorted(k.decode() for k in
                               [*bpf.tracepoint_fds, *bpf.raw_tracepoint_fds]),
            "btf_s": round(t_btf - t0, 3), "compile_s": round(time.monotonic() - t_btf, 3)}
    return desc, fds + links


def _prog_id(fd: int) -> int | None:
    """The kernel's id of a loaded program (bpftool's, and what bpf_stats are keyed by):
    the program names the kernel keeps are cut at 15 characters and can collide."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as fh:
            for line in fh:
                if line.startswith("prog_id:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    try:
        desc, fds = _load(json.loads(argv[1]))
    except Exception as exc:  # reported to the agent, which raises LoadError with it
        detail = "" if isinstance(exc, RuntimeError) else traceback.format_exc()
        socket.send_fds(sock, [json.dumps({"error": str(exc), "detail": detail}).encode()], [])
        sys.stderr.flush()
        os._exit(1)
    socket.send_fds(sock, [json.dumps(desc).encode()], fds)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
