"""The process table: identity by (pid, start tick), pid reuse, re-parenting, bounded size."""

import dataclasses

from otel_linnix.proctable import Process, ProcessTable
from otel_linnix.records import NS_PER_TICK, ProcessExec, ProcessExit, ProcessStart
from otel_linnix.telemetry import Telemetry
from otel_linnix.testing import ProcessTreeBuilder
from otel_linnix.testing.builders import fold_brief


def test_fork_exec_exit_lifecycle():
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash",))
    child = tree.spawn(shell, comm="bash")
    table = ProcessTable()
    table.apply(tree.records())
    proc = table.get(child)
    assert proc.ppid == shell and proc.exe == "/bin/bash"  # fork inherits the image
    assert proc.tree_root == table.get(shell).key  # one tree under the shell
    assert [p.pid for p in table.children(shell)] == [child]
    tree.exec(child, "/bin/ls", ("ls", "-l"))
    tree.exit(child)
    table.apply(tree.records()[-2:])
    assert table.get(child) is None and table.children(shell) == []


def test_pid_reuse_is_a_new_process():
    table = ProcessTable()
    table.apply([ProcessStart(500, 1, 10 * NS_PER_TICK, 0, 0, 0, "old")])
    # the old lifetime's exit was never seen; the pid comes back later
    table.apply([ProcessStart(500, 1, 99 * NS_PER_TICK, 0, 0, 0, "new")])
    assert len(table) == 1 and table.get(500).comm == "new"
    stale_exit = ProcessExit(500, 1, 10 * NS_PER_TICK, 0, 11 * NS_PER_TICK, 0, 0, "old")
    table.apply([stale_exit])
    assert table.get(500).comm == "new"  # an exit of the old lifetime leaves the new one alone


def test_orphans_point_at_init_until_the_real_parent_is_known():
    tree = ProcessTreeBuilder()
    parent = tree.spawn(1, comm="parent")
    child = tree.spawn(parent, comm="child")
    tree.exit(parent)
    table = ProcessTable()
    table.apply(tree.records())
    proc = table.get(child)
    assert proc.ppid == 1 and proc.original_ppid == parent
    table.set_parent(child, 77)
    assert table.get(child).ppid == 77 and [p.pid for p in table.children(77)] == [child]


def test_capacity_evicts_oldest_and_counts():
    telemetry = Telemetry()
    table = ProcessTable(capacity=100, telemetry=telemetry)
    for pid in range(2, 252):
        table.insert(Process(pid=pid, ppid=1, start_ns=pid * NS_PER_TICK))
    assert len(table) == 100
    assert table.get(2) is None and table.get(251) is not None
    assert telemetry.get("otel_linnix.process_table.evicted").value() == 150


def test_readers_get_copies():
    table = ProcessTable()
    table.insert(Process(pid=10, ppid=1, start_ns=NS_PER_TICK, comm="a"))
    copy = table.get(10)
    copy.comm = "mutated"
    assert table.get(10).comm == "a"


def test_a_fork_fills_every_field_of_the_process_from_the_record_and_its_parent():
    """The table builds processes positionally for speed: each field must land where it says."""
    table = ProcessTable(10)
    table.apply([ProcessStart(pid=50, ppid=1, start_ns=10**9, parent_start_ns=1, uid=7, gid=8,
                              comm="init-ish", cgroup_id=3, cgroup_path="/a")])
    table.apply([ProcessExec(pid=50, start_ns=10**9, ts_ns=2 * 10**9, comm="app",
                             exe="/bin/app", argv=("app", "-x"), uid=7)])
    table.apply([ProcessStart(pid=51, ppid=50, start_ns=3 * 10**9, parent_start_ns=10**9,
                              uid=9, gid=10, comm="app", cgroup_id=3, cgroup_path="/a")])
    child = table.get(51)
    assert (child.pid, child.ppid, child.original_ppid, child.start_ns, child.parent_start_ns,
            child.uid, child.gid, child.comm, child.exe, child.argv, child.argv_truncated,
            child.cgroup_id, child.cgroup_path, child.exec_count, child.fork_seen,
            child.tree_root, child.last_sample) == \
        (51, 50, 50, 3 * 10**9, 10**9, 9, 10, "app", "/bin/app", ("app", "-x"), False, 3, "/a",
         0, True, (50, 100), None)


def test_exited_lifetimes_are_recalled_as_they_were_at_exit_within_the_bound():
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash",))
    child = tree.spawn(shell, comm="bash")
    tree.exec(child, "/usr/bin/make", ("make", "-j2"))
    grandchild = tree.spawn(child, comm="make")
    tree.exit(child)
    tree.exit(shell)
    table = ProcessTable(exited_capacity=8)
    table.apply(tree.records())
    assert table.recall((grandchild, 0)) is None  # a lifetime never seen
    by_pid = {r.pid: r for r in tree.records() if isinstance(r, ProcessStart)}
    key = (child, by_pid[child].start_ns // NS_PER_TICK)
    recalled = table.recall(key)
    assert table.get(child) is None and recalled is not None  # gone from the live table only
    assert (recalled.exe, recalled.argv) == ("/usr/bin/make", ("make", "-j2"))  # as at exit
    assert (recalled.original_ppid, recalled.parent_start_ns) == (shell, by_pid[shell].start_ns)
    assert table.recall((shell, by_pid[shell].start_ns // NS_PER_TICK)).exe == "/bin/bash"
    assert table.tree_root_of(key) == table.get(grandchild).tree_root

    # an exit whose start was never seen is remembered from what its record says
    table.apply([ProcessExit(900, child, 5 * NS_PER_TICK, by_pid[child].start_ns,
                             6 * NS_PER_TICK, 0, 0, "late", exe="/bin/true")])
    late = table.recall((900, 5))
    assert (late.exe, late.original_ppid, late.comm) == ("/bin/true", child, "late")

    # bounded: two generations of at most half the capacity each
    for pid in range(2000, 2020):
        table.apply([ProcessExit(pid, 1, pid * NS_PER_TICK, 0, pid * NS_PER_TICK + 1, 0, 0,
                                 "x")])
    remembered = [pid for pid in range(2000, 2020) if table.recall((pid, pid))]
    assert 4 <= len(remembered) < 8 and remembered == list(range(2020 - len(remembered), 2020))
    assert table.recall(key) is None


def _busy_batch() -> list:
    """Lifetimes that start and end in one batch, some exec'ing on the way, mixed with every
    kind the fold must leave to the live path: a child of its own, a reused pid, an unknown
    parent, another cgroup, and a parent inside an application's trace."""
    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash",), cgroup_path="/a")
    for i in range(60):
        tree.advance(1000)
        child = tree.spawn(shell, comm="bash")
        if i % 5 == 1:
            tree.exec(child, "/bin/true", ("true", str(i)))
        if i % 5 == 2:
            tree.exit(tree.spawn(child, comm="bash"))
        if i % 5 == 3:
            tree.exit(child)
            tree.advance(NS_PER_TICK)
            child = tree.spawn(shell, comm="reused", pid=child)
        tree.exit(child)
    records = tree.records()
    records.insert(1, ProcessExec(shell, records[0].start_ns, records[0].start_ns + 1, "bash",
                                  "/bin/bash", ("bash",), uid=1000,
                                  traceparent=f"00-{'ab' * 16}-{'cd' * 8}-01"))
    records += [ProcessStart(700, 777, 10**12, 5 * 10**11, 0, 0, "orphan", cgroup_id=9),
                ProcessExit(700, 777, 10**12, 5 * 10**11, 10**12 + 5, 0, 0, "orphan")]
    return records


def test_exits_standing_for_their_forks_join_and_are_remembered_as_one_at_a_time():
    batch = _busy_batch()
    one_at_a_time = [dataclasses.replace(rec) for rec in batch]  # the table fills these in
    batch = fold_brief(batch)
    assert sum(type(r) is ProcessExit and r.fork_folded for r in batch) >= 30
    assert sum(type(r) is ProcessExit and len(r.execs_folded) == 1 for r in batch) >= 10
    folded, unfolded = ProcessTable(), ProcessTable()
    folded.ingest(batch, lambda rec: "/from-proc")
    for rec in one_at_a_time:
        unfolded.ingest([rec], lambda rec: "/from-proc")
    kept = {(type(r), r.key) for r in batch}
    one_at_a_time = [r for r in one_at_a_time if (type(r), r.key) in kept]

    def joined(rec):
        return (type(rec).__name__, rec.pid, rec.start_ns, getattr(rec, "cgroup_path", None),
                getattr(rec, "tree_root", None), getattr(rec, "trace_ctx", None),
                getattr(rec, "exe", None), getattr(rec, "argv", None),
                getattr(rec, "argv_truncated", None))

    assert [joined(r) for r in batch] == [joined(r) for r in one_at_a_time]
    keys = {(r.pid, r.start_ns // NS_PER_TICK) for r in batch}
    assert {k: folded.recall(k) for k in keys} == {k: unfolded.recall(k) for k in keys}
    assert sorted(map(repr, folded.snapshot())) == sorted(map(repr, unfolded.snapshot()))
