"""The rescue ring buffer: what the main ring refuses still arrives, in the order it happened."""

import subprocess

import pytest

from otel_linnix.receivers.ebpf_process.decode import Decoder, event_ns
from otel_linnix.receivers.ebpf_process.loader import Probe
from otel_linnix.records import ProcessExit, ProcessStart

pytestmark = pytest.mark.bpf

SUBSHELLS = 600


def test_records_the_full_main_ring_refuses_arrive_through_the_rescue_ring_in_order():
    # A 64 KiB main ring, not read while a shell forks 600 subshells: it fills after ~350
    # lifetimes, and the rest (with the host's own) must go to the 256 KiB rescue ring.
    probe = Probe(16, 65536, traceparent=False, rescue_pages=64)
    try:
        shell = subprocess.Popen(["sh", "-c", f"i=0; while [ $i -lt {SUBSHELLS} ]; do (:); "
                                  "i=$((i+1)); done"])
        shell.wait(60)
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
