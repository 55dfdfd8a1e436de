"""Run the real ``otel-linnix`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def otel_linnix_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "otel_linnix", *args]


def run_cli(*args: str, timeout: float = 60, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run(otel_linnix_cmd(*args), capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(otel_linnix_cmd(*args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
