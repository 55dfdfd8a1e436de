"""Resource sampling from /proc: CPU, memory, threads, fds and the fd limit of live processes.

Every ``rank_every`` ticks the sampler reads /proc/PID/stat of all processes to rank them
(CPU used since the last ranking, RSS, and their fd counts), and
at every tick it samples in full only the top-N by CPU and by RSS of the last ranking plus
every process a rule watches. The cost per tick is then bounded by N, not by the host's process
count: on an idle host with a few hundred processes the full scan was most of the agent's CPU.
A new heavy process is ranked within ``rank_every`` ticks, well inside any rule's window.
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
    def __init__(self, top_n: int = 20, rank_every: int = 5) -> None:
        self.top_n = top_n
        self.rank_every = max(1, rank_every)
        self._ticks = 0
        #: The processes the last ranking chose: key → pid.
        self._ranked: dict[ProcessKey, int] = {}
        self._last_cpu: dict[ProcessKey, int] = {}
        #: (limit, tick read) per live process; pruned with ``_last_cpu``'s key set.
        self._limits: dict[ProcessKey, tuple[int, int]] = {}
        #: pid → ppid seen at the last ranking, until ``take_parents`` (re-parenting shows up
        #: here).
        self.parents: dict[int, int] = {}

    def tick(self, watched: list[ProcessKey]) -> list[ProcessSample]:
        self._ticks += 1
        if self._ticks % self.rank_every != 1 % self.rank_every:
            return self._resample(watched)
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
        chosen |= self._fd_heavy(stats)
        self._ranked = {process_key(stats[i].pid, stats[i].start_ns): stats[i].pid
                        for i in sorted(chosen)}
        wanted = set(watched)
        chosen |= {i for i, s in enumerate(stats) if process_key(s.pid, s.start_ns) in wanted}
        now = boot_ns_now()
        return [sample for i in sorted(chosen) if (sample := self._sample(stats[i], now))]

    def take_parents(self) -> dict[int, int]:
        """The parents the last ranking saw, once: between rankings nothing new is known."""
        parents, self.parents = self.parents, {}
        return parents

    def _resample(self, watched: list[ProcessKey]) -> list[ProcessSample]:
        """Between rankings: the last ranking's choice and the watched processes only."""
        ranked = dict(self._ranked)
        for key in watched:
            ranked.setdefault(key, key[0])
        now = boot_ns_now()
        out = []
        for key, pid in ranked.items():
            s = procfs.read_stat(pid)
            if s is None or s.state == "Z" or process_key(s.pid, s.start_ns) != key:
                continue  # gone, or its pid reused
            sample = self._sample(s, now)
            if sample is not None:
                out.append(sample)
        return out

    def _fd_heavy(self, stats: list[procfs.Stat]) -> set[int]:
        """Count every process's fds at each ranking: a leaking process may use little CPU and
        memory, so the CPU / RSS ranking alone would never sample it."""
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
