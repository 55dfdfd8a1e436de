"""A persistent, bounded, oldest-first spool of serialized export requests.

While the backend is unreachable every request goes here, so memory stays flat and a crash or
SIGKILL loses nothing that was written. One file per request (``<seq>-<items>-<signal>.pb``,
items = spans or records in it, for the counters), written
to a temporary name, fsynced and renamed (atomic on POSIX), so a crash leaves either the whole
request or nothing; a leftover ``*.tmp`` is deleted at start. A file is removed only after the
backend accepted it, so a crash between "accepted" and "removed" can at worst resend that one
request, whose spans carry the same deterministic ids. When the byte cap is reached new
requests are refused (the caller counts them): what already reached the spool is never thrown
away. The sorted file list is read from disk once and then kept in memory.
"""

from __future__ import annotations

import os
import threading
from collections import deque
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
        self._names: deque[Path] = deque(entries)
        self._seq = int(entries[-1].name.split("-")[0]) + 1 if entries else 0
        self.bytes = sum(p.stat().st_size for p in entries)

    def put(self, signal: Signal, payload: bytes, items: int = 0) -> bool:
        with self._lock:
            if self.bytes + len(payload) > self.max_bytes:
                return False
            name = f"{self._seq:020d}-{items}-{signal.value}.pb"
            self._seq += 1
            tmp = self.dir / (name + ".tmp")
            with open(tmp, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / name)
            self._names.append(self.dir / name)
            self.bytes += len(payload)
            return True

    def oldest(self) -> tuple[Path, Signal, bytes, int] | None:
        """The oldest request: (its file, signal, payload, items)."""
        with self._lock:
            while self._names:
                path = self._names[0]
                try:
                    parts = path.stem.split("-")
                    items = int(parts[1]) if len(parts) == 3 else 0
                    return path, Signal(parts[-1]), path.read_bytes(), items
                except (OSError, ValueError):
                    self._names.popleft()  # vanished, unreadable or not ours
                    path.unlink(missing_ok=True)
            return None

    def remove(self, path: Path) -> None:
        with self._lock:
            try:
                self._names.remove(path)
            except ValueError:
                pass
            try:
                size = path.stat().st_size
                path.unlink()
                self.bytes -= size
            except FileNotFoundError:
                pass

    def __len__(self) -> int:
        return len(self._names)
