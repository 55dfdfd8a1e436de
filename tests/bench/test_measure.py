"""Subtree selection under pid reuse, percentiles, and /proc readings of a known process."""

from __future__ import annotations

import os
import random

from bench.measure import cpu_seconds, percentile, ratio, rss_bytes, subtree

S = 1_000_000_000


def test_subtree_follows_parent_links_and_skips_reused_pids():
    root, other = 100, 200
    mine = [(101, root, 1 * S, 2 * S), (102, root, 3 * S, 4 * S), (103, 101, int(1.5 * S), 5 * S)]
    # the same pids before the root was born, a child of another process, and a grandchild
    # whose "parent" pid 101 was reused after the real 101 had exited
    noise = [(101, root, 0, S // 2), (104, other, 2 * S, 3 * S), (105, 101, 6 * S, 7 * S)]
    rows = mine + noise
    random.Random(1).shuffle(rows)
    assert sorted(subtree(rows, root, S - S // 10, 10 * S)) == sorted(mine)


def test_subtree_counts_each_lifetime_once():
    rows = [(7, 1, 5 * S, 6 * S)] * 3
    assert len(subtree(rows, 1, 0, 10 * S)) == 1


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    random.Random(2).shuffle(values)
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 50) is None


def test_ratio():
    assert ratio(3, 4) == 0.75
    assert ratio(3, 0) is None and ratio(None, 4) is None


def test_proc_readings_of_this_process():
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))  # burn some CPU
    assert cpu_seconds(os.getpid()) > before
    assert rss_bytes(os.getpid()) > 1 << 20
