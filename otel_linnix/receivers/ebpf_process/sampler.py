"""Resource sampling from /proc: CPU, memory, threads, fds and the fd limit of live processes.

Every tick reads /proc/PID/stat of all processes (cheap: one small read each) to rank them, then
samples in full only the top-N by CPU and by RSS plus every process a rule watches, so the cost
of the expensive parts (fd directory, limits) is bounded whatever the host runs.
"""

from __future__ import annotations

import heapq

from otel_linnix import procfs
from otel_linnix.host import boot_ns_now
from otel_linnix.records import ProcessKey, ProcessSample, process_key

#: Re-read a process's fd limit (/proc/PID/limits, the costliest file per sample) this often:
#: a limit changes only by prlimit/setrlimit, which the rules only need to notice eventually.
LIMIT_REFRESH_TICKS = 30


class Sampler:
    def __init__(self, top_n: int = 20, fd_sweep_every: int = 5) -> None:
        self.top_n = top_n
        self.fd_sweep_every = fd_sweep_every
        self._ticks = 0
        self._last_cpu: dict[ProcessKey, int] = {}
        #: (limit, tick read) per live process; pruned with ``_last_cpu``'s key set.
        self._limits: dict[ProcessKey, tuple[int, int]] = {}
        #: pid → ppid seen at the last tick (re-parenting shows up here).
        self.parents: dict[int, int] = {}

    def tick(self, watched: list[ProcessKey]) -> list[ProcessSample]:
        stats = [s for pid in procfs.pids()
                 if (s := procfs.read_stat(pid)) is not None and s.state != "Z"]
        cpu_now: dict[ProcessKey, int] = {}
        deltas: list[tuple[int, int]] = []
        for i, s in enumerate(stats):
            key = process_key(s.pid, s.start_ns)
            total = s.utime_ns + s.stime_ns
            cpu_now[key] = total
            deltas.append((total - self._last_cpu.get(key, total), i))
        self._last_cpu = cpu_now  # only live processes: bounded by the host's process count
        if len(self._limits) > len(cpu_now):
            self._limits = {k: v for k, v in self._limits.items() if k in cpu_now}
        self.parents = {s.pid: s.ppid for s in stats}
        chosen = {i for _, i in heapq.nlargest(self.top_n, deltas)}
        chosen |= {i for _, i in heapq.nlargest(self.top_n, ((s.rss_bytes, i)
                                                             for i, s in enumerate(stats)))}
        wanted = set(watched)
        chosen |= {i for i, s in enumerate(stats) if process_key(s.pid, s.start_ns) in wanted}
        self._ticks += 1
        if self.fd_sweep_every and self._ticks % self.fd_sweep_every == 0:
            chosen |= self._fd_heavy(stats)
        now = boot_ns_now()
        return [sample for i in sorted(chosen) if (sample := self._sample(stats[i], now))]

    def _fd_heavy(self, stats: list[procfs.Stat]) -> set[int]:
        """Every few ticks, count every process's fds: a leaking process may use little CPU
        and memory, so the CPU / RSS ranking alone would never sample it."""
        counted = [(n, i) for i, s in enumerate(stats) if (n := procfs.count_fds(s.pid))]
        return {i for _, i in heapq.nlargest(self.top_n, counted)}

    def _fd_limit(self, s: procfs.Stat) -> int | None:
        key = process_key(s.pid, s.start_ns)
        cached = self._limits.get(key)
        if cached is not None and self._ticks - cached[1] < LIMIT_REFRESH_TICKS:
            return cached[0]
        limit = procfs.fd_soft_limit(s.pid)
        if limit is not None:
            self._limits[key] = (limit, self._ticks)
        return limit

    def _sample(self, s: procfs.Stat, now: int) -> ProcessSample | None:
        fds = procfs.count_fds(s.pid)
        limit = self._fd_limit(s) if fds is not None else None
        if fds is None or limit is None:
            return None  # exited while we looked
        return ProcessSample(pid=s.pid, start_ns=s.start_ns, ts_ns=now, cpu_user_ns=s.utime_ns,
                             cpu_system_ns=s.stime_ns, rss_bytes=s.rss_bytes, vms_bytes=s.vsize,
                             threads=s.threads, fds=fds, fd_limit=limit, comm=s.comm,
                             run_delay_ns=procfs.read_run_delay(s.pid))
