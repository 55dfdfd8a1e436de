"""The detection corpus: ordinary work that must stay silent, and trouble that must be caught.

Benign items are what build hosts, CI runners and developer machines do all day; each is a
shell script run in its own scratch directory. Trouble items are the confined, self-stopping
scenarios of ``scenarios/``; each names the rules that count as catching it and where its
culprit's pid comes from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CORES = os.cpu_count() or 1

def fetch_source(package: str) -> str:
    """A real Debian source package, fetched with apt from deb-src into the scratch directory
    (no dpkg-dev needed: the upstream tarball is unpacked with tar)."""
    return f"""
mkdir -p apt/lists/partial src
echo 'deb-src http://deb.debian.org/debian bookworm main' > apt/sources.list
APT="-o Dir::Etc::SourceList=$PWD/apt/sources.list -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists=$PWD/apt/lists -o APT::Sandbox::User=root"
apt-get $APT update -qq >/dev/null
(cd src && apt-get $APT source --download-only -qq {package} >/dev/null)
tar xf "$(ls src/{package}_*.orig.tar.* | grep -v '[.]asc$')"
"""


def autotools(directory: str) -> str:
    return f"cd {directory}-*/ && ./configure -q && make -s -j{CORES} && make -s check >/dev/null"


@dataclass(frozen=True)
class Benign:
    name: str
    what: str
    script: str
    prepare: str = ""  # run before the agent starts (downloads): not part of the measurement


@dataclass(frozen=True)
class Trouble:
    name: str
    what: str
    scenario: str
    args: tuple[str, ...]
    rules: tuple[str, ...]
    #: The onset event names the culprit (a child of the scenario); else the scenario itself.
    culprit_from_onset: bool = False
    #: Target latency (s), when the trouble bites at once (a bomb), measured from
    #: ``latency_from``: "onset", or "failure" for what is only known once it happened.
    latency_target_s: float | None = None
    latency_from: str = "onset"


BENIGN = (
    Benign("hello configure+make+check", f"GNU hello 2.10 from Debian source: ./configure, "
           f"make -j{CORES}, make check", autotools("hello"), prepare=fetch_source("hello")),
    Benign("gzip configure+make+check", f"GNU gzip 1.12 from Debian source: ./configure, "
           f"make -j{CORES}, make check (its shell test suite)", autotools("gzip"),
           prepare=fetch_source("gzip")),
    Benign("parallel build", f"make -j{CORES} over 300 generated C files",
           "for i in $(seq 300); do echo \"int f$i(int x){return x*$i+1;}\" > f$i.c; done\n"
           "printf 'OBJS:=$(patsubst %%.c,%%.o,$(wildcard *.c))\\nall: $(OBJS)\\n"
           "%%.o: %%.c\\n\\tgcc -O2 -c $< -o $@\\n' > Makefile\n"
           f"make -s -j{CORES}"),
    Benign("apt reinstall", "apt-get install --reinstall of procps, iproute2, bpftool",
           "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "
           "procps iproute2 bpftool >/dev/null"),
    Benign("pip install", "a fresh venv, pip install requests (and its dependencies)",
           "python3 -m venv venv && venv/bin/pip install -q --no-cache-dir requests"),
    Benign("pytest suite", "this project's unit tests that need no BPF (pytest)",
           "cd \"$PROJECT\" && .venv/bin/python -m pytest -q -p no:cacheprovider "
           "tests/processors tests/config tests/test_proctable.py tests/test_redact.py "
           "-m 'not bpf' >/dev/null"),
    Benign("shell loops", "5000 /bin/true from a bash loop; 10000 true through xargs -P cores",
           f"for i in $(seq 5000); do /bin/true; done; seq 10000 | xargs -P{CORES} -n1 true"),
    Benign("git", "init, 2000 files over 40 commits, log, gc, clone",
           "git init -q repo && cd repo && git config user.email b@e && git config user.name b\n"
           "for c in $(seq 40); do for f in $(seq 50); do echo $c > f$c-$f; done; "
           "git add -A && git commit -qm c$c; done\n"
           "git log --stat >/dev/null && git gc -q && cd .. && git clone -q repo clone"),
)

TROUBLE = (
    Trouble("fork bomb", "b(){ b|b& }; b under pids.max 2000", "fork_bomb",
            ("--seconds", "4", "--cap", "2000"), ("fork_storm", "runaway_tree"),
            culprit_from_onset=True, latency_target_s=1.0),
    Trouble("slow fork flood", "40 lingering children/s into pids.max 800", "slow_fork_flood",
            ("--rate", "40", "--cap", "800"), ("fork_storm",)),
    Trouble("memory leak", "8 MiB/s into memory.max 200 MiB", "memory_leak",
            ("--limit", "200", "--rate", "8", "--seconds", "40"), ("memory_leak",)),
    Trouble("fd leak", "10 fds/s to EMFILE at RLIMIT_NOFILE 256", "fd_exhaustion",
            ("--limit", "256", "--rate", "10", "--seconds", "40"), ("fd_exhaustion",)),
    Trouble("cpu spin", "one process spinning a core for 45 s", "cpu_spin",
            ("--seconds", "45"), ("cpu_spike",)),
    Trouble("runaway tree", "a supervisor's workers never exit: 700 live", "runaway_tree",
            ("--rate", "80", "--target", "700", "--seconds", "12"), ("runaway_tree",),
            culprit_from_onset=True),
    Trouble("oom kill", "a process allocating past its 64 MiB memory cgroup", "oom_kill",
            ("--limit", "64", "--seconds", "30"), ("oom_kill",), culprit_from_onset=True,
            latency_target_s=1.0, latency_from="failure"),
    Trouble("cpu contention", f"{2 * CORES} busy workers on {CORES} cores in one cgroup, 60 s",
            "cpu_contention", ("--seconds", "60"), ("cpu_pressure",), culprit_from_onset=True),
)
