"""Fixtures: a context whose process table holds sampled processes."""

from __future__ import annotations

import pytest

from otel_linnix.records import ProcessSample, ProcessStart
from otel_linnix.testing import test_context

BASE_NS = 1_000 * 10**9


def add_processes(ctx, n: int, first_pid: int = 10_000, seed_cpu: int = 7) -> list[ProcessSample]:
    """``n`` live, sampled processes with distinct CPU / RSS / fd figures."""
    starts, samples = [], []
    for i in range(n):
        pid = first_pid + i
        start = BASE_NS + i * 10**7
        starts.append(ProcessStart(pid, 1, start, 0, 1000, 1000, f"worker{i % 50}"))
        samples.append(ProcessSample(
            pid, start, start + 10**9, cpu_user_ns=(i * seed_cpu % n) * 10**6,
            cpu_system_ns=i * 10**5, rss_bytes=((i * 31) % n + 1) * 4096,
            vms_bytes=(i + 1) * 8192, threads=1 + i % 4, fds=(i * 17) % n, fd_limit=1024))
    ctx.process_table.apply(starts)
    ctx.process_table.apply(samples)
    return samples


@pytest.fixture
def populated():
    ctx = test_context()
    add_processes(ctx, 200)
    return ctx
