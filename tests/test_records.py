import io

from otel_linnix import recording
from otel_linnix.records import NS_PER_TICK, ProcessStart, process_key
from otel_linnix.testing import random_tree, test_context


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
