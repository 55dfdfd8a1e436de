"""Waiting for a real server a test started: ready when its URL answers 200, failed when its
process exits first (with what it said), or when it takes too long."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


def wait_until_ok(url: str, proc: subprocess.Popen, what: str, timeout: float,
                  detail: Callable[[], str] = lambda: "", interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {detail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready at {url} after {timeout:.0f} s: {detail()}")
