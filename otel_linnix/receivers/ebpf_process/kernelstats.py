"""What the kernel already counts per host and per cgroup: pressure stall (PSI) and OOM kills.

Read on the sampler's tick. PSI totals become ``PressureSample`` records (the pressure rule
judges them) and the ``otel_linnix.pressure.stall`` counter; OOM kill counts (/proc/vmstat,
memory.events / memory.oom_control) become ``otel_linnix.oom.kills``, so a kill the agent could
not attribute to a process is still counted. Per-cgroup series are bounded (``max_cgroups``,
rescanned every ``rescan_ticks``) on top of the registry's own series cap.
"""

from __future__ import annotations

import os
from collections import deque

from otel_linnix import memcg, procfs
from otel_linnix.records import PressureSample
from otel_linnix.telemetry import Telemetry

RESOURCES = ("cpu", "memory", "io")
HOST = "/"


def parse_pressure(text: str) -> tuple[int, int] | None:
    """(some, full) stall totals in ns from a PSI file ("some avg10=… total=<µs>" lines)."""
    totals = {"some": 0, "full": 0}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        for field in rest.split():
            if field.startswith("total=") and kind in totals:
                totals[kind] = int(field[6:]) * 1000
    return (totals["some"], totals["full"]) if text.strip() else None


def pressure_cgroups(cap: int) -> dict[str, str]:
    """cgroup v2 groups with PSI files, as path → directory, shallowest first (breadth-first:
    the top-level slices and pods before their leaves; bounded, in groups found and in
    directories visited)."""
    root = memcg.v2_root()
    found: dict[str, str] = {}
    if root is None:
        return found
    queue = deque([root])
    visited = 0
    while queue and len(found) < cap and visited < memcg.MAX_CGROUPS:
        visited += 1
        try:
            children = sorted(e.path for e in os.scandir(queue.popleft()) if e.is_dir())
        except OSError:
            continue
        for child in children:
            if len(found) < cap and os.path.exists(f"{child}/cpu.pressure"):
                found[child[len(root):]] = child
        queue.extend(children)
    return found


class KernelStats:
    def __init__(self, telemetry: Telemetry, max_cgroups: int = 32, rescan_ticks: int = 10,
                 proc_root: str = "/proc") -> None:
        self._max = max_cgroups
        self._rescan = rescan_ticks
        self._proc = proc_root
        self._ticks = 0
        self._pressure_dirs: dict[str, str] = {}
        self._memory_dirs: dict[str, str] = {}
        self._last_stall: dict[tuple[str, str, str], int] = {}
        #: Kills per cgroup at the last reading: the first reading is only a baseline.
        self._last_kills: dict[str, int] = {}
        self._stall = telemetry.counter(
            "otel_linnix.pressure.stall",
            "Time some / all non-idle tasks were stalled on a resource (PSI), host (/) and "
            "per cgroup", "s")
        self._kills = telemetry.counter(
            "otel_linnix.oom.kills", "Processes killed by the OOM killer, host (/) and per "
            "memory cgroup (kernel counts: includes kills the agent could not attribute)")

    def start(self) -> None:
        """Take the kernel's counts now, so a kill between the agent's start and its first
        sampling tick is counted (the baseline otherwise already holds it)."""
        self._memory_dirs = memcg.limited_cgroups(self._max)
        self._count_kills()

    def watch_memcg(self, path: str, directory: str) -> None:
        """Count the kill just seen in this memory cgroup (an OOM victim's, maybe new since
        the last rescan) and its kills from then on. The kernel has counted the kill already
        when its record arrives: the baseline is one less; if the cgroup is gone by now, the
        host's count still has the kill."""
        kills = memcg.oom_kills(directory) if path and directory else None
        if kills and path not in self._memory_dirs:
            self._memory_dirs[path] = directory
            self._last_kills[path] = kills - 1

    def tick(self, now_ns: int) -> list[PressureSample]:
        self._count_kills()  # before a rescan may drop a watched victim's cgroup
        if self._ticks % self._rescan == 0:
            self._pressure_dirs = pressure_cgroups(self._max)
            self._memory_dirs = memcg.limited_cgroups(self._max)
        self._ticks += 1
        return self._pressure(now_ns)

    def _pressure(self, now_ns: int) -> list[PressureSample]:
        out = []
        sources = [(HOST, f"{self._proc}/pressure/{{}}"),
                   *((path, f"{d}/{{}}.pressure") for path, d in self._pressure_dirs.items())]
        for cgroup, pattern in sources:
            for resource in RESOURCES:
                text = procfs.read_text(pattern.format(resource))
                parsed = parse_pressure(text) if text else None
                if parsed is None:
                    continue
                out.append(PressureSample(now_ns, resource, cgroup, *parsed))
                self._add_stall(cgroup, resource, parsed)
        return out

    def _add_stall(self, cgroup: str, resource: str, totals: tuple[int, int]) -> None:
        for kind, total in zip(("some", "full"), totals):
            ident = (cgroup, resource, kind)
            last = self._last_stall.get(ident)
            self._last_stall[ident] = total
            if last is not None and total > last:
                self._stall.add((total - last) / 1e9, (("resource", resource), ("kind", kind),
                                                       ("cgroup", cgroup)))

    def _count_kills(self) -> None:
        counts = {HOST: memcg.host_oom_kills()}
        for path, directory in list(self._memory_dirs.items()):
            kills = memcg.oom_kills(directory)
            if kills is not None:
                counts[path] = kills
        for cgroup, total in counts.items():
            last = self._last_kills.get(cgroup)
            if last is not None and total > last:  # a cgroup first seen is only a baseline
                self._kills.add(total - last, (("cgroup", cgroup),))
        self._last_kills = {**self._last_kills, **counts}
        if len(self._last_kills) > 4 * self._max:
            self._last_kills = counts
        if len(self._last_stall) > 4 * 6 * (self._max + 1):
            self._last_stall.clear()
