"""The workloads: a fork storm, an exec storm, a real parallel build and an idle period.

Each run returns a :class:`Run`: the pid of the workload's root process (its subtree is what
the capture ratio counts, since other work shares the machine), when it ran (wall ns), and how
many processes it reports it created (None where only the kernel knows, as for the build).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_SOURCE = Path(__file__).with_name("forkstorm.c")


@dataclass
class Run:
    name: str
    pid: int
    start_ns: int
    end_ns: int
    created: int | None

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def rate(self) -> float | None:
        return self.created / self.seconds if self.created and self.seconds > 0 else None


def compile_helper(workdir: Path) -> Path:
    """gcc the C helper into ``workdir`` (never into the source tree)."""
    out = workdir / "forkstorm"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(out), str(_SOURCE)], check=True)
    return out


def _helper(helper: Path, *args: str, timeout: float) -> Run:
    proc = subprocess.run([str(helper), *args], capture_output=True, text=True, check=True,
                          timeout=timeout)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(report["mode"], report["pid"], report["start_ns"], report["end_ns"],
               report["created"])


def fork_storm(helper: Path, seconds: float, rate: float = 0) -> Run:
    """Fork + exit for ``seconds`` at ``rate`` per second (0: the machine's maximum)."""
    run = _helper(helper, "fork", str(seconds), str(rate), timeout=seconds + 60)
    run.name = f"fork@{int(rate)}/s" if rate else "fork@max"
    return run


def fork_storm_saturated(helper: Path, seconds: float, workers: int) -> Run:
    """``workers`` fork storms at once, one per core: no core is left idle for the agent to
    hide in. The rate is the sum of the workers' rates."""
    procs = [subprocess.Popen([str(helper), "fork", str(seconds), "0"], stdout=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"fork storm worker exited with {proc.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    start, end = min(r["start_ns"] for r in reports), max(r["end_ns"] for r in reports)
    created = sum(r["created"] for r in reports)
    return Run(f"fork_sat@{workers}", reports[0]["pid"], start, end, created)


def exec_storm(helper: Path, count: int) -> Run:
    """``count`` fork + exec + exit, back to back."""
    return _helper(helper, "exec", str(count), timeout=300)


def make_build_tree(workdir: Path, files: int) -> Path:
    """A project of ``files`` small generated C files and a Makefile linking them."""
    root = workdir / "build"
    root.mkdir(exist_ok=True)
    names = [f"unit{i:03d}" for i in range(files)]
    for i, name in enumerate(names):
        (root / f"{name}.c").write_text(
            f"#include <stdio.h>\n#include <string.h>\n"
            f"int {name}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x * {i + 1});\n"
            f"  return (int)strlen(b) + x % {i + 2}; }}\n")
    calls = "".join(f"int {n}(int);\n" for n in names)
    body = " + ".join(f"{n}(argc)" for n in names)
    (root / "main.c").write_text(f"{calls}int main(int argc, char **argv) {{ (void)argv;\n"
                                 f"  return ({body}) == 0; }}\n")
    objs = " ".join(f"{n}.o" for n in ["main", *names])
    (root / "Makefile").write_text(
        f"OBJS = {objs}\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n"
        "%.o: %.c\n\tcc -O1 -c -o $@ $<\nclean:\n\trm -f prog *.o\n")
    return root


def build(tree: Path, jobs: int = 2) -> Run:
    """A clean ``make -j<jobs>`` of ``tree``; the process count is only known to the kernel."""
    subprocess.run(["make", "-s", "-C", str(tree), "clean"], check=True,
                   stdout=subprocess.DEVNULL)
    start = time.time_ns()
    proc = subprocess.Popen(["make", "-s", f"-j{jobs}", "-C", str(tree)],
                            stdout=subprocess.DEVNULL)
    if proc.wait(timeout=600) != 0:
        raise RuntimeError(f"make -j{jobs} in {tree} failed")
    return Run("build", proc.pid, start, time.time_ns(), None)


def idle(seconds: float) -> Run:
    start = time.time_ns()
    time.sleep(seconds)
    return Run("idle", os.getpid(), start, time.time_ns(), 0)
