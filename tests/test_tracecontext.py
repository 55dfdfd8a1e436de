"""W3C traceparent / tracestate checks on what the kernel copied out of an environment."""

import pytest

from otel_linnix.proctable import ProcessTable
from otel_linnix.records import ProcessExec, ProcessExit, ProcessStart
from otel_linnix.tracecontext import clean_tracestate, parse_traceparent

T, P = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_valid_value_gives_its_ids_and_sampled_flag():
    parsed = parse_traceparent(f"00-{T}-{P}-01")
    assert (parsed.trace_id, parsed.parent_id, parsed.sampled) == (T, P, True)
    assert not parse_traceparent(f"00-{T}-{P}-00").sampled
    assert parse_traceparent(f"01-{T}-{P}-01-future-field").trace_id == T


@pytest.mark.parametrize("value", [
    "", f"00-{T}-{P}", f"00-{T}-{P}-01-extra", f"ff-{T}-{P}-01", f"00-{T.upper()}-{P}-01",
    f"00-{'0' * 32}-{P}-01", f"00-{T}-{'0' * 16}-01", f"0-{T}-{P}-01", f"00-{T}-{P}-1",
    f"00-{T}-{P}-01\n", "x" * 1024,
])
def test_malformed_values_are_refused(value):
    assert parse_traceparent(value) is None


def test_tracestate_is_passed_on_only_when_printable_and_within_bounds():
    assert clean_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") == \
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    assert clean_tracestate("a=\x01") == ""
    assert clean_tracestate("k=" + "v" * 300) == ""  # the kernel's copy of a longer one is cut


def test_the_table_joins_a_process_to_its_own_context_and_its_children_inherit_the_trace():
    table = ProcessTable(100)
    tp = f"00-{T}-{P}-01"
    table.apply([ProcessStart(10, 1, 10**9, 1, 0, 0, "sh"),
                 ProcessExec(10, 10**9, 2 * 10**9, "sh", "/bin/sh", ("sh",), traceparent=tp,
                             tracestate="k=v"),
                 ProcessStart(11, 10, 3 * 10**9, 10**9, 0, 0, "sh"),
                 ProcessExec(11, 3 * 10**9, 4 * 10**9, "ls", "/bin/ls", ("ls",), traceparent=tp)])
    assert table.get(10).trace_ctx == (T, P, "k=v")
    assert table.get(11).trace_ctx == (T, "", "k=v"), "the same value again is inheritance"
    other = f"00-{'a' * 32}-{'b' * 16}-01"
    table.apply([ProcessStart(12, 11, 5 * 10**9, 3 * 10**9, 0, 0, "ls"),
                 ProcessExec(12, 5 * 10**9, 6 * 10**9, "x", "/bin/x", ("x",), traceparent=other)])
    assert table.get(12).trace_ctx == ("a" * 32, "b" * 16, "")
    end = ProcessExit(pid=11, ppid=10, start_ns=3 * 10**9, parent_start_ns=10**9,
                      exit_ns=7 * 10**9, uid=0, gid=0, comm="ls")
    table.apply([end])
    assert end.trace_ctx == (T, "", "k=v")
