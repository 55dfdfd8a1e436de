"""Who started whom, through exited ancestors: the culprit of a fork storm is often long gone.

A shell fork bomb (``b(){ b|b& }; b``) re-parents every generation to init within
milliseconds, and the shell that started it exits at once: the live tree is flat, and the
table's ``tree_root`` is the host's top-level ancestor. Only the fork-time links name the
shell. The process table keeps them, for exited lifetimes too (``ProcessTable.recall``): this
module only walks them, and keeps nothing of its own.
"""

from __future__ import annotations

from otel_linnix.containers import identify
from otel_linnix.proctable import ProcessTable
from otel_linnix.records import NS_PER_TICK, AlertSubject, ProcessKey, process_key
from otel_linnix.redact import redact_argv

#: A walk up the lineage stops here (a long-running bomb is thousands of generations deep).
MAX_DEPTH = 2048
#: At most this many members are walked when naming a culprit.
MAX_MEMBERS = 512


class Lineage:
    def __init__(self, table: ProcessTable) -> None:
        self.table = table

    def parent(self, key: ProcessKey) -> ProcessKey | None:
        """The fork-time parent (live, exited or beyond the table's memory); None under init."""
        proc = self.table.recall(key)
        if proc is not None and proc.original_ppid > 2 and proc.parent_start_ns:
            return process_key(proc.original_ppid, proc.parent_start_ns)
        return None

    def culprit(self, members: list[ProcessKey], share: float = 0.8) -> ProcessKey | None:
        """The smallest subtree holding ``share`` of ``members``: its root. With ``share`` above
        one half the qualifying roots lie on one chain, so the smallest of them is the one with
        the fewest members, and among equals the first one met walking up from below."""
        if len(members) > MAX_MEMBERS:  # evenly spread: the newest alone are one corner of a bomb
            members = members[::-(-len(members) // MAX_MEMBERS)]
        if not members:
            return None
        counts: dict[ProcessKey, int] = {}
        for key in members:
            for ancestor in self._ancestors(key):
                counts[ancestor] = counts.get(ancestor, 0) + 1
        need = max(1, share * len(members))
        qualifying = {key: n for key, n in counts.items() if n >= need}
        if not qualifying:
            return None
        smallest = min(qualifying.values())
        for key in reversed(members):  # the first one met from below is the deepest
            for ancestor in self._ancestors(key):
                if qualifying.get(ancestor) == smallest:
                    return self._branch_point(ancestor, qualifying, len(members))
        return None

    def _branch_point(self, key: ProcessKey, qualifying: dict[ProcessKey, int], total: int
                      ) -> ProcessKey:
        """Up to a forked copy of the same program (no exec between) whose other children add
        members too: ``b|b&`` splits the bomb between two subshells, and when one of them
        happens to hold most of it, the shell that forked both is still the one to name. A
        parent that only forked this one child (a supervisor's launcher, itself perhaps a
        member) is not climbed to."""
        image = self._image(key)
        parent = self.parent(key)
        while (parent is not None
               and qualifying.get(parent, 0) - qualifying[key] > max(1, 0.05 * total)
               and self._image(parent) == image):
            key, parent = parent, self.parent(parent)
        return key

    def _image(self, key: ProcessKey) -> tuple[str, tuple[str, ...]]:
        proc = self.table.recall(key)
        return (proc.exe, proc.argv) if proc is not None else ("", ())

    def _ancestors(self, key: ProcessKey):
        """The member itself, then its fork-time ancestors (a subtree holds its own root)."""
        seen = 0
        current: ProcessKey | None = key
        while current is not None and seen < MAX_DEPTH:
            yield current
            seen += 1
            current = self.parent(current)

    def subject(self, key: ProcessKey) -> AlertSubject:
        """The culprit as an alert names it: as the table knows it, live or at its exit."""
        proc = self.table.recall(key)
        if proc is None:
            return AlertSubject(pid=key[0], start_ns=key[1] * NS_PER_TICK)
        return subject_from(proc)


def subject_from(proc) -> AlertSubject:
    """A process (from the table) as an alert names it, with its container and pod."""
    return AlertSubject(pid=proc.pid, start_ns=proc.start_ns, comm=proc.comm, exe=proc.exe,
                        container_id=proc.container_id, cgroup_path=proc.cgroup_path,
                        argv=bounded_argv(proc.argv),
                        pod_uid=identify(proc.cgroup_path).pod_uid if proc.cgroup_path else "")


def bounded_argv(argv: tuple[str, ...], max_args: int = 32, max_len: int = 256
                 ) -> tuple[str, ...]:
    """Redacted, and short enough for a label, a log line and an LLM prompt."""
    return tuple(arg[:max_len] for arg in redact_argv(argv)[:max_args])
