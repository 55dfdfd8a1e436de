"""The sampler's cost is bounded by N, not by the host's process count: the whole of /proc is
read only at rankings; in between, only the ranked and the watched processes are."""

import subprocess

from otel_linnix import procfs
from otel_linnix.receivers.ebpf_process import sampler as sampler_module
from otel_linnix.receivers.ebpf_process.sampler import Sampler
from otel_linnix.records import process_key


def test_between_rankings_only_the_ranked_and_the_watched_are_read(monkeypatch):
    reads = []
    real = procfs.read_stat

    def counting(pid):
        reads.append(pid)
        return real(pid)

    monkeypatch.setattr(sampler_module.procfs, "read_stat", counting)
    child = subprocess.Popen(["sleep", "30"])
    try:
        stat = real(child.pid)
        key = process_key(child.pid, stat.start_ns)
        sampler = Sampler(top_n=1, rank_every=3)
        host = len(procfs.pids())
        per_tick = []
        watched_sampled = []
        for _ in range(6):
            reads.clear()
            samples = sampler.tick([key])
            per_tick.append(len(reads))
            watched_sampled.append(any(s.pid == child.pid for s in samples))
        assert all(watched_sampled), "a watched process is sampled at every tick"
        ranking, between = per_tick[0::3], per_tick[1::3] + per_tick[2::3]
        assert min(ranking) >= host // 2, per_tick  # the whole of /proc
        assert max(between) <= 3 + 1, per_tick  # top 1 by CPU, RSS and fds, plus the watched
    finally:
        child.kill()
        child.wait()


def test_a_process_gone_or_its_pid_reused_is_not_sampled_between_rankings():
    child = subprocess.Popen(["sleep", "30"])
    key = process_key(child.pid, procfs.read_stat(child.pid).start_ns)
    sampler = Sampler(top_n=1, rank_every=10)
    sampler.tick([])
    child.kill()
    child.wait()
    assert not [s for s in sampler.tick([key]) if s.pid == child.pid]
    other = subprocess.Popen(["sleep", "30"])
    try:  # a live pid watched under another start tick: another lifetime, not this one
        stale = process_key(other.pid, procfs.read_stat(other.pid).start_ns)
        stale = (stale[0], stale[1] - 1)
        assert not [s for s in sampler.tick([stale]) if s.pid == other.pid]
    finally:
        other.kill()
        other.wait()
