"""The ring buffers read from their mappings: records that wrap past the end of the data pages
arrive whole, and what the main ring refuses arrives through the rescue ring, in order."""

import subprocess

import pytest

from otel_linnix.receivers.ebpf_process.decode import Decoder, event_ns
from otel_linnix.receivers.ebpf_process.loader import Probe
from otel_linnix.records import ProcessExit, ProcessStart

pytestmark = pytest.mark.bpf

SUBSHELLS = 600


def _subshells(count: int) -> subprocess.Popen:
    shell = subprocess.Popen(["sh", "-c", f"i=0; while [ $i -lt {count} ]; do (:); "
                              "i=$((i+1)); done"])
    shell.wait(60)
    return shell


def test_records_the_full_main_ring_refuses_arrive_through_the_rescue_ring_in_order():
    # A 64 KiB main ring, not read while a shell forks 600 subshells: it fills after ~350
    # lifetimes, and the rest (with the host's own) must go to the 256 KiB rescue ring.
    probe = Probe(16, 65536, traceparent=False, rescue_pages=64)
    try:
        shell = _subshells(SUBSHELLS)
        decoder = Decoder()
        main = probe.consume(decoder.decode)
        rescued = probe.consume_rescued(decoder.decode)
        lost, took = probe.lost(), probe.rescued()
    finally:
        probe.close()

    def ours(records):
        return [r for r in records if type(r) in (ProcessStart, ProcessExit)
                and r.ppid == shell.pid]

    assert ours(rescued), "no subshell's record went through the rescue ring"
    assert took >= len(rescued) and lost["ringbuf"] == 0
    merged = ours(sorted(main + rescued, key=event_ns))
    starts = [r.key for r in merged if type(r) is ProcessStart]
    exits = [r.key for r in merged if type(r) is ProcessExit]
    assert len(starts) == len(set(starts)) == SUBSHELLS
    assert sorted(exits) == sorted(starts)
    position = {(type(r), r.key): i for i, r in enumerate(merged)}
    assert all(position[ProcessStart, key] < position[ProcessExit, key] for key in starts)


def test_records_wrapping_past_the_end_of_the_mapped_ring_arrive_whole():
    # A 64 KiB ring read after every 100 subshells (~18 KiB of records): it goes round it
    # several times, and fork (72 B) and exit (112 B) records straddle its end.
    probe = Probe(16, 65536, traceparent=False)
    decoder, seen, shells = Decoder(), [], []
    try:
        for _ in range(20):
            shells.append(_subshells(100).pid)
            seen += probe.consume(decoder.decode)
        wrapped, lost = probe._ring.wrapped, probe.lost()["ringbuf"]
    finally:
        probe.close()
    assert wrapped >= 1 and decoder.unknown == 0 and lost == 0
    ours = [r for r in seen if type(r) in (ProcessStart, ProcessExit) and r.ppid in shells]
    starts = {r.key for r in ours if type(r) is ProcessStart}
    exits = {(r.key, r.comm, r.exit_code) for r in ours if type(r) is ProcessExit}
    assert len(starts) == 2000 and {k for k, _, _ in exits} == starts
    assert {(comm, code) for _, comm, code in exits} == {("sh", 0)}


def test_brief_lifetimes_still_fold_after_the_ring_wraps_over_older_records():
    """A reserved slot holds what earlier records left in it: command names must be read
    NUL-padded, or a fork and its exit differ in the bytes after the name and never fold
    once the ring has gone round (execs with long command lines leave bytes everywhere)."""
    probe = Probe(16, 65536, traceparent=False)
    seen, shells = [], []
    try:
        for i in range(20):
            subprocess.run(["/bin/true", "x" * (97 + 13 * i)], check=True)
            shells.append(_subshells(100).pid)
            seen += probe.consume(lambda views: Decoder().decode(views, fold=True))
        wrapped = probe._ring.wrapped
    finally:
        probe.close()
    assert wrapped >= 1
    assert not [r for r in seen if type(r) is ProcessStart and r.ppid in shells]
    exits = [r for r in seen if type(r) is ProcessExit and r.ppid in shells]
    assert len(exits) == 2000 and all(r.fork_folded for r in exits)
