"""Still-running processes are reported once per lifetime: past their age, else at shutdown,
and not again after a restart of the agent on the same boot."""

import json

from otel_linnix.proctable import ProcessTable
from otel_linnix.receivers.running import NS, RunningReports
from otel_linnix.testing import ProcessTreeBuilder


def _host(n: int = 3):
    tree = ProcessTreeBuilder()
    pids = [tree.spawn(exe=f"/usr/sbin/daemon{i}") for i in range(n)]
    table = ProcessTable()
    table.apply(tree.records())
    return tree, table, pids


def _spawn(tree, table, exe):
    seen = len(tree.records())
    pid = tree.spawn(exe=exe)
    table.apply(tree.records()[seen:])
    return pid


def test_each_process_is_reported_once_when_it_passes_the_age():
    tree, table, pids = _host()
    tree.advance(50 * NS)
    young = _spawn(tree, table, "/bin/sleep")
    reports = RunningReports(table, after_ns=30 * NS, at_shutdown=False)
    now = tree.now_ns + NS
    due = reports.due(now)
    assert sorted(r.pid for r in due) == sorted(pids)  # the young one is 1 s old
    first = next(r for r in due if r.pid == pids[0])
    assert (first.ts_ns, first.exe, first.start_ns) == (now, "/usr/sbin/daemon0",
                                                        table.get(pids[0]).start_ns)
    assert reports.due(now + NS) == []  # looked over again only after a quarter of the age
    assert [r.pid for r in reports.due(now + 30 * NS)] == [young]
    assert reports.due(now + 600 * NS) == []  # once per lifetime
    assert reports.final(now + 700 * NS) == []  # at_shutdown off


def test_at_shutdown_only_the_not_yet_reported_are_reported_and_exits_are_forgotten():
    tree, table, (a, b, c) = _host()
    reports = RunningReports(table, after_ns=0, at_shutdown=True)
    assert reports.due(tree.now_ns + 10**12) == []  # 0: never by age
    reports.reported.add(table.get(a).key)  # as if reported by age earlier
    table.apply([tree.exit(b)])
    final = reports.final(tree.now_ns + NS)
    assert [r.pid for r in final] == [c]
    assert reports.reported == {table.get(a).key, table.get(c).key}  # b has exited


def test_scope_limits_reports_to_the_watched_processes():
    tree, table, (a, b, _) = _host()
    reports = RunningReports(table, after_ns=NS, at_shutdown=True,
                             in_scope=lambda p: p.exe.endswith("daemon1"))
    assert [r.pid for r in reports.final(tree.now_ns + 2 * NS)] == [b]


def test_what_was_reported_survives_a_restart_on_the_same_boot_only(tmp_path, caplog):
    tree, table, (a, b, c) = _host()
    state = str(tmp_path / "receivers" / "ebpf_process.running.json")
    first = RunningReports(table, after_ns=3600 * NS, at_shutdown=True, state_path=state,
                           boot_id="boot-1")
    assert len(first.final(tree.now_ns + NS)) == 3
    saved = json.load(open(state))
    assert saved["boot_id"] == "boot-1" and len(saved["reported"]) == 3

    # the agent restarts (a rollout): the same lifetimes are not reported again, a new one is
    _spawn(tree, table, "/usr/bin/new")
    again = RunningReports(table, after_ns=3600 * NS, at_shutdown=True, state_path=state,
                           boot_id="boot-1")
    assert [r.exe for r in again.final(tree.now_ns + 2 * NS)] == ["/usr/bin/new"]
    assert len(json.load(open(state))["reported"]) == 4

    # after a reboot the same pids and ticks are other processes: all are reported
    rebooted = RunningReports(table, after_ns=3600 * NS, at_shutdown=True, state_path=state,
                              boot_id="boot-2")
    assert len(rebooted.final(tree.now_ns + 3 * NS)) == 4

    # a damaged file is named in a warning and ignored; nothing else is lost
    open(state, "w").write("{not json")
    damaged = RunningReports(table, after_ns=3600 * NS, at_shutdown=True, state_path=state,
                             boot_id="boot-2")
    assert len(damaged.final(tree.now_ns + 4 * NS)) == 4
    assert state in caplog.text


def test_reports_by_age_are_saved_at_once_for_an_agent_that_is_killed(tmp_path):
    tree, table, _ = _host()
    state = str(tmp_path / "running.json")
    killed = RunningReports(table, after_ns=NS, at_shutdown=True, state_path=state,
                            boot_id="b")
    assert len(killed.due(tree.now_ns + 2 * NS)) == 3  # and then SIGKILL: no final()
    restarted = RunningReports(table, after_ns=NS, at_shutdown=True, state_path=state,
                               boot_id="b")
    assert restarted.due(tree.now_ns + 3 * NS) == [] and restarted.final(tree.now_ns) == []


def test_a_receiver_with_reports_off_keeps_no_state(tmp_path):
    tree, table, _ = _host()
    state = tmp_path / "running.json"
    off = RunningReports(table, after_ns=0, at_shutdown=False, state_path=str(state))
    assert off.final(tree.now_ns) == [] and not state.exists()
