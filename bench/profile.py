"""Where the agent spends its CPU in a fork storm: py-spy samples, folded into a short text.

Run as an extra storm after the measured ones (sampling costs the agent a little, so it never
overlaps a figure). Only the thread holding the GIL is sampled (``--gil``): that is the agent's
Python work, the part that competes for one core; waits in C (ring buffer poll, gRPC) would
otherwise fill the profile. Output: the functions with the most samples on top of the stack (self)
and the most samples anywhere in the stack (inclusive), across all the agent's threads.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, raw: Path) -> subprocess.Popen:
    """Start sampling ``pid`` for ``seconds`` (collapsed stacks into ``raw``)."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy, or ./scripts/setup.sh)")
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "100", "--format", "raw", "--nonblocking", "--gil",
                             "--output", str(raw)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def fold(raw: Path, top: int = 25) -> str:
    """The collapsed stacks as two top-``top`` lists: self and inclusive samples."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("thread (")]
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples of the GIL-holding thread at 100 Hz", "", "self:"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in own.most_common(top)] if total else []
    lines += ["", "inclusive:"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)] if total else []
    return "\n".join(lines) + "\n"
