"""A persistent, bounded, oldest-first spool of serialized export requests.

While the backend is unreachable every request goes here, so memory stays flat and a crash or
SIGKILL loses nothing that was written. One file per request, written to a temporary name and
renamed (atomic on POSIX); removed only after the backend accepted it. When full, new requests
are refused and counted — what already reached the spool is never thrown away.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from otel_linnix.component import Signal


class Spool:
    def __init__(self, directory: str, max_bytes: int) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        for tmp in self.dir.glob("*.tmp"):  # a write interrupted by a crash
            tmp.unlink(missing_ok=True)
        entries = sorted(self.dir.glob("*.pb"))
        self._seq = int(entries[-1].name.split("-")[0]) + 1 if entries else 0
        self.bytes = sum(p.stat().st_size for p in entries)

    def put(self, signal: Signal, payload: bytes) -> bool:
        with self._lock:
            if self.bytes + len(payload) > self.max_bytes:
                return False
            name = f"{self._seq:020d}-{signal.value}.pb"
            self._seq += 1
            tmp = self.dir / (name + ".tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, self.dir / name)
            self.bytes += len(payload)
            return True

    def oldest(self) -> tuple[Path, Signal, bytes] | None:
        with self._lock:
            for path in sorted(self.dir.glob("*.pb")):
                try:
                    return path, Signal(path.stem.split("-", 1)[1]), path.read_bytes()
                except (OSError, ValueError):
                    path.unlink(missing_ok=True)  # unreadable: not ours or corrupt
            return None

    def remove(self, path: Path) -> None:
        with self._lock:
            try:
                size = path.stat().st_size
                path.unlink()
                self.bytes -= size
            except FileNotFoundError:
                pass

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("*.pb"))
