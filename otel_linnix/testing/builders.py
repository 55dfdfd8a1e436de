"""Build process trees as records, for tests and replay fixtures."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from otel_linnix.records import ProcessExec, ProcessExit, ProcessSample, ProcessStart, Record

BASE_NS = 1_000 * 10**9  # 1000 s after boot


@dataclass
class _Proc:
    pid: int
    ppid: int
    start_ns: int
    parent_start_ns: int
    comm: str
    exe: str = ""
    argv: tuple[str, ...] = ()
    uid: int = 1000
    cgroup_path: str = ""


class ProcessTreeBuilder:
    """Spawn / exec / exit processes on a synthetic clock; ``records()`` returns them in time order."""

    def __init__(self, first_pid: int = 1000, base_ns: int = BASE_NS) -> None:
        self._next_pid = first_pid
        self.now_ns = base_ns
        self._records: list[tuple[int, int, Record]] = []
        self._seq = 0
        self.procs: dict[int, _Proc] = {}

    def _emit(self, ts: int, rec: Record) -> None:
        self._seq += 1
        self._records.append((ts, self._seq, rec))

    def advance(self, ns: int) -> int:
        self.now_ns += ns
        return self.now_ns

    def spawn(self, parent: int = 1, comm: str = "sh", exe: str = "", argv: tuple[str, ...] = (),
              uid: int = 1000, pid: int | None = None, cgroup_path: str = "") -> int:
        """Fork a child of ``parent`` (a pid made here, or 1 for init); exec if ``exe`` is given."""
        if pid is None:
            pid, self._next_pid = self._next_pid, self._next_pid + 1
        pproc = self.procs.get(parent)
        parent_start = pproc.start_ns if pproc else 0
        proc = _Proc(pid, parent, self.now_ns, parent_start, comm, uid=uid,
                     cgroup_path=cgroup_path or (pproc.cgroup_path if pproc else ""))
        self.procs[pid] = proc
        self._emit(self.now_ns, ProcessStart(pid, parent, self.now_ns, parent_start, uid, uid,
                                             comm, cgroup_path=proc.cgroup_path))
        if exe:
            self.exec(pid, exe, argv or (exe,))
        return pid

    def exec(self, pid: int, exe: str, argv: tuple[str, ...]) -> None:
        proc = self.procs[pid]
        proc.exe, proc.argv, proc.comm = exe, tuple(argv), exe.rsplit("/", 1)[-1][:15]
        self._emit(self.now_ns, ProcessExec(pid, proc.start_ns, self.now_ns, proc.comm, exe,
                                            proc.argv, uid=proc.uid))

    def exit(self, pid: int, code: int = 0, signal: int = 0) -> ProcessExit:
        proc = self.procs.pop(pid)
        rec = ProcessExit(pid=pid, ppid=proc.ppid, start_ns=proc.start_ns,
                          parent_start_ns=proc.parent_start_ns, exit_ns=self.now_ns, uid=proc.uid,
                          gid=proc.uid, comm=proc.comm, exe=proc.exe, argv=proc.argv,
                          exit_code=code, signal=signal, cgroup_path=proc.cgroup_path,
                          exec_count=1 if proc.exe else 0)
        self._emit(self.now_ns, rec)
        return rec

    def records(self) -> list[Record]:
        return [rec for _, _, rec in sorted(self._records, key=lambda t: (t[0], t[1]))]


def random_tree(n: int, seed: int = 1, first_pid: int = 1000, spacing_ns: int = 1_000_000,
                fail_every: int = 7) -> list[Record]:
    """``n`` processes in one tree under a root shell; every ``fail_every``-th exits non-zero.

    Every process exits, children before their parents, so the records describe ``n`` complete
    lifetimes (useful to check that exactly ``n`` spans come out).
    """
    rng = random.Random(seed)
    tree = ProcessTreeBuilder(first_pid=first_pid)
    root = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash", "-c", "job"))
    live = [root]
    children: dict[int, list[int]] = {root: []}
    order = [root]
    for i in range(n - 1):
        tree.advance(spacing_ns)
        parent = rng.choice(live)
        pid = tree.spawn(parent, comm="sh", exe="/bin/true" if i % 3 else "/bin/sh",
                         argv=("true", f"--n={i}"))
        children[parent].append(pid)
        children[pid] = []
        live.append(pid)
        order.append(pid)
    for count, pid in enumerate(reversed(order), start=1):  # children exit before parents
        tree.advance(spacing_ns)
        tree.exit(pid, code=1 if count % fail_every == 0 else 0)
    return tree.records()


def sample(pid: int, start_ns: int, ts_ns: int, cpu_ns: int = 0, rss: int = 0, fds: int = 3,
           fd_limit: int = 1024, comm: str = "app") -> ProcessSample:
    """A ProcessSample with only the fields a test cares about."""
    return ProcessSample(pid=pid, start_ns=start_ns, ts_ns=ts_ns, cpu_user_ns=cpu_ns,
                         cpu_system_ns=0, rss_bytes=rss, vms_bytes=rss * 2, threads=1, fds=fds,
                         fd_limit=fd_limit, comm=comm)


def shell_steps(n: int) -> list[Record]:
    """A shell and ``n`` brief children of it, every other one exec'ing a tool: the plain
    records of what the decoder folds (``fold_brief``)."""
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="sh", exe="/bin/sh")
    for i in range(n):
        tree.exit(tree.spawn(shell, comm="sh", exe="/bin/true" if i % 2 else ""))
    return tree.records()


def fold_brief(records: list[Record]) -> list[Record]:
    """``records`` as the receiver's decoder folds one read of the ring buffer (test_decode
    checks the decoder itself): each lifetime that starts and ends in them and that no other
    record names (a child, an exec with a TRACEPARENT) is its exit alone, marked
    ``fork_folded``, holding its execs (``execs_folded``) when the last one named it as it
    ended. Unlike the decoder it does not look for the parent's exec or exit inside a child's
    lifetime: use it on records without those (``storm``'s children, the table tests' batch)."""
    named = {r.ppid for r in records if type(r) is ProcessStart}
    named.update(r.pid for r in records if type(r) is ProcessExec and r.traceparent)
    forks = {r.key: r for r in records if type(r) is ProcessStart and r.pid not in named}
    execs: dict = {}
    for rec in records:
        if type(rec) is ProcessExec and rec.key in forks:
            execs.setdefault(rec.key, []).append(rec)
    brief = {r.key for r in records if type(r) is ProcessExit and r.key in forks
             and (r.key not in execs or execs[r.key][-1].comm == r.comm)}
    out: list[Record] = []
    for rec in records:
        if type(rec) is ProcessExit and rec.key in brief:
            at_fork = forks[rec.key].comm
            rec = replace(rec, fork_folded=True, execs_folded=tuple(execs.get(rec.key, ())),
                          fork_comm=at_fork if at_fork != rec.comm else "")
        elif type(rec) in (ProcessStart, ProcessExec) and rec.key in brief:
            continue
        out.append(rec)
    return out
