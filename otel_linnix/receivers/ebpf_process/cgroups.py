"""cgroup id → cgroup path, for forks the kernel reports by id only.

On cgroup v2 the id ``bpf_get_current_cgroup_id`` returns is the inode number of the cgroup's
directory, so walking the v2 hierarchy once maps every id to its path; an unknown id triggers
a re-walk, at most once a second, and the cache is bounded.
"""

from __future__ import annotations

import os
import time

from otel_linnix.memcg import v2_root

MAX_ENTRIES = 65536


class CgroupPaths:
    def __init__(self, min_rescan_s: float = 1.0) -> None:
        self.root = v2_root()
        self._paths: dict[int, str] = {}
        self._min_rescan = min_rescan_s
        self._last_scan = 0.0

    def path(self, cgroup_id: int) -> str:
        """The path of ``cgroup_id`` ("" when unknown or no v2 hierarchy)."""
        if not cgroup_id or self.root is None:
            return ""
        found = self._paths.get(cgroup_id)
        if found is None and time.monotonic() - self._last_scan >= self._min_rescan:
            self._scan()
            found = self._paths.get(cgroup_id)
        return found or ""

    def _scan(self) -> None:
        self._last_scan = time.monotonic()
        root = self.root
        if root is None:
            return
        paths: dict[int, str] = {}
        for dirpath, _dirs, _files in os.walk(root):
            try:
                paths[os.stat(dirpath).st_ino] = dirpath[len(root):] or "/"
            except OSError:
                continue
            if len(paths) >= MAX_ENTRIES:
                break
        self._paths = paths
