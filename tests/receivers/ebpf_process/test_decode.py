"""Folding at decode: a lifetime that forks (and execs) and exits within one read of the ring
buffer is its exit alone, and nothing downstream can tell, except by the count of records."""

import random

import pytest

from otel_linnix.proctable import ProcessTable
from otel_linnix.receivers.ebpf_process import contract
from otel_linnix.receivers.ebpf_process.decode import Decoder, event_ns
from otel_linnix.records import (
    ProcessExec,
    ProcessExit,
    ProcessStart,
    fork_of,
    standing_for,
    unfolded,
)

PARENT, PARENT_START = 500, 1_000


def fork(pid, ppid=PARENT, start=0, pstart=PARENT_START, comm=b"sh", uid=1000, cgid=7):
    return contract.FORK.pack(contract.EVENT_FORK, pid, ppid, uid, uid, 0, start or pid * 10,
                              pstart, cgid, comm)


def exit_(pid, ppid=PARENT, start=0, pstart=PARENT_START, comm=b"sh", uid=1000, cgid=7, at=0):
    start = start or pid * 10
    return contract.EXIT.pack(contract.EVENT_EXIT, pid, ppid, uid, uid, 0, start, pstart,
                              at or start + 5, 1, 2, cgid, 0, 0, 1, 0, comm)


def exec_(pid, start=0, exe=b"/bin/true", at=0, comm=b"true", traceparent=b""):
    args = exe + b"\0"
    return contract.EXEC.pack(contract.EVENT_EXEC, pid, 1000, len(args), at or pid * 10 + 1,
                              start or pid * 10, 0, 0, traceparent, b"", comm, exe, args)


def oom(pid, start=0):
    return contract.OOM.pack(contract.EVENT_OOM, pid, 1000, 0, pid * 10 + 2, start or pid * 10,
                             *([0] * 8), b"sh", bytes(contract.MEMCG_DEPTH
                                                      * contract.MEMCG_NAME_LEN))


def kinds(records):
    return [(type(r).__name__, r.pid) for r in records]


def test_a_storm_batch_is_its_exits_each_standing_for_its_fork():
    raws = [r for pid in range(600, 700) for r in (fork(pid), exit_(pid))]
    decoder = Decoder()
    folded = decoder.decode(raws, fold=True)
    assert decoder.folded == 100
    plain = Decoder().decode(raws)
    assert kinds(folded) == kinds(plain[1::2]) and all(r.fork_folded for r in folded)
    assert folded == plain[1::2]  # every field (fork_folded is not part of the identity)
    assert [fork_of(r) for r in folded] == plain[0::2]
    assert not any(r.fork_folded for r in plain[1::2])


@pytest.mark.parametrize("between,kept", [
    ([exec_(601, traceparent=b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")],
     "its exec with a TRACEPARENT"),
    ([exec_(601), oom(601)], "its OOM kill after an exec"),
    ([oom(601)], "its OOM kill"),
    ([fork(602, ppid=601, pstart=6010)], "a child of it"),
    ([exec_(PARENT, start=PARENT_START)], "its parent's exec"),
    ([exit_(PARENT, ppid=1, start=PARENT_START, pstart=1)], "its parent's exit"),
])
def test_a_lifetime_something_names_keeps_its_fork_record(between, kept):
    records = Decoder().decode([fork(601), *between, exit_(601)], fold=True)
    assert kinds(records)[0] == ("ProcessStart", 601), kept
    assert not records[-1].fork_folded


@pytest.mark.parametrize("exit_raw,why", [
    (exit_(601, comm=b"renamed"), "comm changed (prctl)"),
    (exit_(601, uid=0), "uid changed (setuid)"),
    (exit_(601, cgid=8), "cgroup changed"),
    (exit_(601, start=6011), "another lifetime of the pid"),
])
def test_a_lifetime_that_changed_keeps_its_fork_record(exit_raw, why):
    records = Decoder().decode([fork(601), exit_raw], fold=True)
    assert kinds(records) == [("ProcessStart", 601), ("ProcessExit", 601)], why
    assert not records[1].fork_folded


def test_a_brief_lifetime_s_execs_fold_into_its_exit_in_order():
    """fork + exec + exec + exit (a shell exec'ing its command): one exit standing for all
    four, named at fork as the fork was, giving back the plain records field by field."""
    raws = [fork(601), exec_(601, exe=b"/bin/sh", comm=b"sh", at=6011),
            exec_(601, exe=b"/usr/bin/cc", comm=b"cc", at=6012), exit_(601, comm=b"cc")]
    decoder = Decoder()
    folded = decoder.decode(raws, fold=True)
    plain = Decoder().decode(raws)
    assert kinds(folded) == [("ProcessExit", 601)]
    assert (decoder.folded, decoder.folded_execs) == (1, 2)
    exit_rec = folded[0]
    assert [e.exe for e in exit_rec.execs_folded] == ["/bin/sh", "/usr/bin/cc"]
    assert exit_rec.comm == "cc" and exit_rec.fork_comm == "sh"
    assert [(type(r), r) for r in standing_for(exit_rec)] == [(type(r), r) for r in plain]
    assert fork_of(exit_rec).comm == "sh"


@pytest.mark.parametrize("exit_raw,why", [
    (exit_(601, comm=b"renamed"), "renamed after its exec (prctl)"),
    (exit_(601, comm=b"true", uid=0), "a setuid image"),
])
def test_an_exec_d_lifetime_that_changed_after_keeps_its_records(exit_raw, why):
    records = Decoder().decode([fork(601), exec_(601), exit_raw], fold=True)
    assert kinds(records) == [("ProcessStart", 601), ("ProcessExec", 601),
                              ("ProcessExit", 601)], why
    assert not records[2].fork_folded and not records[2].execs_folded


def test_what_does_not_fold_keeps_its_place_and_a_missed_exit_keeps_the_older_fork():
    raws = [fork(601), fork(602), exec_(602), fork(601, start=7000), exit_(601, start=7000),
            exit_(603), fork(604)]
    records = Decoder().decode(raws, fold=True)
    assert kinds(records) == [("ProcessStart", 601), ("ProcessStart", 602),
                              ("ProcessExec", 602), ("ProcessExit", 601), ("ProcessExit", 603),
                              ("ProcessStart", 604)]
    assert records[0].start_ns == 6010 and records[3].fork_folded
    assert not records[4].fork_folded  # its fork was in an earlier read


def _random_batch(rng: random.Random, size: int) -> list[bytes]:
    """A process tree at work: forks of live processes (some exec'ing at once, some renamed on
    the way), execs and exits in time order, the parents of some exiting before their
    children."""
    live = {PARENT: (PARENT_START, b"sh")}
    raws, now, next_pid = [], 10_000, 1000
    while len(raws) < size:
        now += rng.randint(1, 50)
        pid = rng.choice(list(live))
        start, comm = live[pid]
        roll = rng.random()
        if roll < 0.45 or len(live) == 1:
            child = next_pid = next_pid + rng.choice((1, 1, 1, 3))
            live[child] = (now, comm)
            raws.append(fork(child, pid, now, start, comm))
            if rng.random() < 0.3:  # a build's step: the child runs a tool at once
                now += 1
                raws.append(exec_(child, now - 1, b"/bin/cc%d" % rng.randint(0, 1), now))
                live[child] = (now - 1, b"true")
        elif roll < 0.6:
            raws.append(exec_(pid, start, b"/bin/tool%d" % rng.randint(0, 3), now))
            live[pid] = (start, b"true")
        elif pid != PARENT:
            del live[pid]
            raws.append(exit_(pid, 1 if rng.random() < 0.1 else _ppid(raws, pid), start,
                              _pstart(raws, pid), b"renamed" if rng.random() < 0.05 else comm,
                              at=now))
    return raws


def _fork_fields(raws, pid):
    return next(contract.FORK.unpack(r) for r in raws
                if r[0] == contract.EVENT_FORK and contract.FORK.unpack(r)[1] == pid)


def _ppid(raws, pid):
    return _fork_fields(raws, pid)[2]


def _pstart(raws, pid):
    return _fork_fields(raws, pid)[7]


def _ingested(records):
    table = ProcessTable()
    table.ingest(records, lambda rec: f"/cg/{rec.cgroup_id}")
    return table


@pytest.mark.parametrize("seed", range(6))
def test_folded_and_plain_batches_leave_the_same_table_and_the_same_exits(seed):
    """What the table joins into every exit, what it remembers of every lifetime and what it
    holds live are the same whether the batch was folded or not; unfolding a folded batch and
    merging it by event time gives the plain batch back."""
    raws = _random_batch(random.Random(seed), 400)
    folding = Decoder()
    folded, plain = folding.decode(raws, fold=True), Decoder().decode(raws)
    assert folding.folded > 20  # the generator makes brief lifetimes
    assert folding.folded_execs >= 8  # brief lifetimes that exec'd, too
    assert len(folded) == len(plain) - folding.folded - folding.folded_execs
    a, b = _ingested(folded), _ingested(plain)
    joined = ("exe", "argv", "argv_truncated", "cgroup_path", "tree_root", "trace_ctx", "comm",
              "uid")
    exits_a = {r.key: r for r in folded if type(r) is ProcessExit}
    exits_b = {r.key: r for r in plain if type(r) is ProcessExit}
    assert exits_a.keys() == exits_b.keys()
    for key, rec in exits_b.items():
        assert [getattr(exits_a[key], f) for f in joined] == [getattr(rec, f) for f in joined]
        assert a.recall(key) == b.recall(key)
    assert {p.key for p in a.snapshot()} == {p.key for p in b.snapshot()}
    again = sorted(unfolded(Decoder().decode(raws, fold=True)), key=event_ns)
    fresh = sorted(Decoder().decode(raws), key=event_ns)  # ingest filled the others in
    assert [(type(r), r) for r in again] == [(type(r), r) for r in fresh]
    assert not any(r.fork_folded or r.execs_folded for r in again if type(r) is ProcessExit)
    assert {type(r) for r in plain} == {ProcessStart, ProcessExec, ProcessExit}
