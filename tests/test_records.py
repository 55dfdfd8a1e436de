import dataclasses
import io
import json
import typing

import pytest

from otel_linnix import recording
from otel_linnix.records import (
    NS_PER_TICK,
    ProcessExec,
    ProcessExit,
    ProcessStart,
    process_key,
    record_time,
    time_slices,
)
from otel_linnix.testing import ProcessTreeBuilder, random_tree, test_context
from otel_linnix.testing.builders import fold_brief, shell_steps


def test_process_key_matches_proc_tick_resolution():
    # /proc reports start time in ticks; eBPF in ns. Both must name the same process.
    ns = 123 * NS_PER_TICK + 4_567
    assert process_key(42, ns) == process_key(42, 123 * NS_PER_TICK)
    assert process_key(42, ns) != process_key(42, 124 * NS_PER_TICK)


def test_random_tree_has_n_complete_lifetimes():
    recs = random_tree(50, seed=3)
    starts = [r for r in recs if isinstance(r, ProcessStart)]
    exits = [r for r in recs if type(r).__name__ == "ProcessExit"]
    assert len(starts) == len(exits) == 50
    assert {s.key for s in starts} == {e.key for e in exits}


def test_oom_and_pressure_records_survive_a_recording():
    from otel_linnix.records import OomKill, PressureSample, ProcessExit

    kill = OomKill(7, 5, 9, "hog", 0, -10, 3, 2, 1, 0, 1, "/jobs", 64 << 20)
    psi = PressureSample(9, "memory", "/jobs", 1_000, 500)
    death = ProcessExit(7, 1, 5, 0, 10, 0, 0, "hog", signal=9, oom_killed=True,
                        oom=kill.facts())
    for rec in (kill, psi, death):
        back = recording.decode(json.loads(recording.encode(rec)))
        assert back == rec and type(back) is type(rec)
    assert recording.decode(json.loads(recording.encode(death))).oom == kill.facts()


def test_time_slices_cut_a_drain_by_record_time_keeping_every_record_once_in_order():
    tree = ProcessTreeBuilder()
    for _ in range(40):  # a fork and an exit every 10 ms: 400 ms of records
        tree.advance(10_000_000)
        tree.exit(tree.spawn())
    records = tree.records()
    slices = time_slices(records, 50_000_000)
    assert [r for part in slices for r in part] == records
    assert all(record_time(part[-1]) - record_time(part[0]) < 50_000_000 for part in slices)
    assert len(slices) == 8
    short = records[:6]
    assert time_slices(short, 50_000_000)[0] is short  # one slice: the list itself
    assert time_slices([], 50_000_000) == [[]]


def test_a_recording_holds_folded_lifetimes_as_the_records_they_stand_for():
    """A recording says what happened, not how the receiver carried it: an exit standing for
    its fork and execs is written as them and itself, and one written by an earlier version
    (with ``fork_folded``) is still read."""
    plain = shell_steps(4)
    folded = fold_brief(plain)
    assert len(folded) < len(plain)
    out = io.StringIO()
    recording.Writer(out, test_context().host).write(folded)
    back = list(recording.read(io.StringIO(out.getvalue()))[1])
    assert [(type(r), r) for r in back] == [(type(r), r) for r in plain]
    assert not any(getattr(r, "fork_folded", False) for r in back)
    assert folded[-1].fork_folded  # the batch the receiver handed on is left as it was
    earlier = {**json.loads(recording.encode(plain[-1])), "fork_folded": True}
    assert recording.decode(earlier).fork_folded


@pytest.mark.parametrize("cls", [ProcessStart, ProcessExec, ProcessExit])
def test_a_written_out_constructor_takes_every_field_by_name_and_defaults_as_the_fields_do(cls):
    fields = dataclasses.fields(cls)
    hints = typing.get_type_hints(cls)
    every = {f.name: _other_than_default(f, hints[f.name], i + 1) for i, f in enumerate(fields)}
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    defaulted = cls(**{name: every[name] for name in required})
    for f in fields:
        assert getattr(defaulted, f.name) == (every[f.name] if f.name in required
                                              else f.default), f.name
    for made in cls(**every), cls(*every.values()):  # by name, and in the fields' order
        assert {f.name: getattr(made, f.name) for f in fields} == every


def _other_than_default(f: dataclasses.Field, hint, seed: int):
    """A value of the field's type, unlike its default and the other fields' values."""
    if hint is bool:
        return not f.default
    if hint is int:
        return 1000 + seed
    if hint is str:
        return f"{f.name}-{seed}"
    return {"argv": ("sh", f"-{seed}"), "tree_root": (seed, seed),
            "trace_ctx": ("ab" * 16, "cd" * 8, f"k={seed}"), "oom": {"anon_rss_bytes": seed},
            "execs_folded": (ProcessExec(seed, 2, 3, "sh", "/bin/sh", ("sh",)),)}[f.name]
