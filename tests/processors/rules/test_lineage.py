"""Culprits named through the process table's fork-time links, exited ancestors included."""

from otel_linnix.processors.rules.lineage import Lineage
from otel_linnix.proctable import ProcessTable
from otel_linnix.testing import ProcessTreeBuilder


def _bomb(tree: ProcessTreeBuilder, generations: int) -> tuple[int, list[int]]:
    """A shell that forks two copies of itself per generation; every parent exits."""
    login = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash", "-l"))
    shell = tree.spawn(login, comm="bash", exe="/bin/bash", argv=("bash", "bomb.sh"))
    tree.exec(shell, "/bin/bash", ("bash", "bomb.sh"))
    level = [shell]
    for _ in range(generations):
        nxt = []
        for pid in level:
            nxt += [tree.spawn(pid, comm="bash"), tree.spawn(pid, comm="bash")]
            tree.exit(pid)
        level = nxt
    return shell, level


def test_the_starting_shell_is_named_though_every_ancestor_has_exited():
    tree = ProcessTreeBuilder()
    shell, live = _bomb(tree, generations=6)
    bystander = tree.spawn(1, comm="sleep", exe="/bin/sleep")
    table = ProcessTable()
    table.apply(tree.records())
    lineage = Lineage(table)
    members = [table.get(pid).key for pid in live] + [table.get(bystander).key]
    culprit = lineage.culprit(members)
    assert culprit is not None and culprit[0] == shell
    assert table.get(shell) is None  # named from the table's memory of exited lifetimes
    subject = lineage.subject(culprit)
    assert (subject.pid, subject.exe, subject.argv) == (shell, "/bin/bash", ("bash", "bomb.sh"))


def test_a_culprit_the_table_no_longer_remembers_is_not_guessed():
    tree = ProcessTreeBuilder()
    _, live = _bomb(tree, generations=6)
    table = ProcessTable(exited_capacity=8)  # remembers only the last few exits
    table.apply(tree.records())
    members = [table.get(pid).key for pid in live]
    assert Lineage(table).culprit(members) is None  # no remembered ancestor holds 80 %
    assert Lineage(ProcessTable()).culprit(members) is None  # nor does an empty table


def test_the_subject_names_its_container_and_pod():
    from otel_linnix.processors.rules.lineage import subject_from

    uid = "1b2c3d4e-0000-4000-8000-00000000abcd"
    tree = ProcessTreeBuilder()
    pid = tree.spawn(exe="/app/server", cgroup_path=f"/kubepods/burstable/pod{uid}/{'a' * 64}")
    table = ProcessTable()
    table.apply(tree.records())
    subject = subject_from(table.get(pid))
    assert (subject.container_id, subject.pod_uid) == ("a" * 64, uid)
