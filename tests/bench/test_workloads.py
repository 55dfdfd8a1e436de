"""The C helper reports what it did, and what it reports is what the kernel saw."""

from __future__ import annotations

import pytest

from bench import workloads


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    return workloads.compile_helper(tmp_path_factory.mktemp("helper"))


def test_fork_storm_at_a_fixed_rate_keeps_the_rate(helper):
    run = workloads.fork_storm(helper, 0.5, 400)
    assert run.name == "fork@400/s"
    assert 100 <= run.created <= 201  # never ahead of schedule; a loaded host may fall behind
    assert 0.45 < run.seconds < 2.0


def test_fork_storm_children_are_counted_by_the_kernel(helper):
    """The helper's count matches the kernel's fork counter (at least: the host is shared)."""
    def forks_since_boot() -> int:
        with open("/proc/stat") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("processes "))

    before = forks_since_boot()
    run = workloads.fork_storm(helper, 0.3)
    assert run.created > 100
    assert forks_since_boot() - before >= run.created


def test_exec_storm_counts_every_child(helper):
    run = workloads.exec_storm(helper, 50)
    assert run.name == "exec" and run.created == 50 and run.pid > 0


def test_build_compiles_the_generated_tree(tmp_path):
    tree = workloads.make_build_tree(tmp_path, 5)
    run = workloads.build(tree)
    assert (tree / "prog").exists() and run.created is None and run.seconds > 0
