"""The live process table: the one piece of shared state (receiver writes; API, rules, exporters read).

Keyed by ``(pid, start tick)`` so a reused pid is a new process, bounded by an LRU cap with
evictions counted. Readers get copies (``snapshot``/``get``) taken under the lock, so the API
thread never sees a half-applied update.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from otel_linnix.containers import identify
from otel_linnix.records import (
    NS_PER_TICK,
    OomKill,
    ProcessExec,
    ProcessExit,
    ProcessKey,
    ProcessSample,
    ProcessStart,
    Record,
    TraceCtx,
    process_key,
)
from otel_linnix.telemetry import Telemetry

DEFAULT_CAPACITY = 65536
#: Exited lifetimes remembered: at a fork bomb's 10,000 exits a second, the last 6 s or more,
#: long enough to walk a bomb's members up to the shell that started it.
DEFAULT_EXITED_CAPACITY = 131072


@dataclass(slots=True)
class Process:
    """What the agent knows about one live process."""

    pid: int
    ppid: int
    start_ns: int
    parent_start_ns: int = 0
    #: The parent at fork time; ``ppid`` follows re-parenting.
    original_ppid: int = 0
    uid: int = 0
    gid: int = 0
    comm: str = ""
    exe: str = ""
    argv: tuple[str, ...] = ()
    argv_truncated: bool = False
    cgroup_id: int = 0
    cgroup_path: str = ""
    container_id: str = ""
    exec_count: int = 0
    fork_seen: bool = True
    #: Root of the process tree this process belongs to (one tree → one trace).
    tree_root: ProcessKey = (0, 0)
    last_sample: ProcessSample | None = None
    #: The application trace this process joined (its own TRACEPARENT at exec, or inherited
    #: from its parent at fork, without the remote parent); None: its tree's own trace.
    trace_ctx: TraceCtx | None = None
    #: The TRACEPARENT value that context came from: a child's environment repeats its
    #: parent's, and the same value again means "still in the parent's span", not a new parent.
    traceparent: str = ""
    #: What the OOM killer saw when it chose this process (``OomKill.facts()``).
    oom: dict | None = None

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)


#: All fields in order: ``Process(*_FIELDS(p))`` is a shallow copy at a fifth of the cost of
#: ``dataclasses.replace`` (readers get copies, and the rules read the table per record).
_FIELDS = attrgetter(*(f.name for f in fields(Process)))


def _copy(proc: Process) -> Process:
    return Process(*_FIELDS(proc))


#: What the table remembers of an exited lifetime, in this order (see ``_exited``).
_EXITED_FIELDS = attrgetter("start_ns", "parent_start_ns", "original_ppid", "comm", "exe",
                            "argv", "cgroup_path", "container_id", "tree_root")


def _from_exited(pid: int, row: tuple) -> Process:
    start_ns, parent_start_ns, original_ppid, comm, exe, argv, cgroup_path, container, root = row
    return Process(pid, original_ppid, start_ns, parent_start_ns, original_ppid, 0, 0, comm, exe,
                   argv, False, 0, cgroup_path, container, 0, True, root)


def _is_tree_root_parent(ppid: int) -> bool:
    """Children of init (1) and kthreadd (2), or of an unknown parent, start their own tree."""
    return ppid <= 2


def _child_trace(ctx: TraceCtx) -> TraceCtx:
    """The application trace a child of a process in ``ctx`` stays in: the same trace, without
    the remote parent span (the child's parent span is its parent process's)."""
    return ctx[0], "", ctx[2]


class ProcessTable:
    """Bounded map of live processes with a pid index and a children index."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, telemetry: Telemetry | None = None,
                 exited_capacity: int = DEFAULT_EXITED_CAPACITY):
        self.capacity = capacity
        self._procs: OrderedDict[ProcessKey, Process] = OrderedDict()
        #: Recently exited lifetimes, as they were at exit (bounded, like Tetragon's process
        #: cache keeps exited entries a while): late children, late alerts, the exporters (which
        #: run behind the table) and a fork storm's culprit, often long gone, are still found.
        #: Kept as plain tuples of what the rules and the exporters ask of an exited lifetime
        #: (``_EXITED_FIELDS``), not Process objects: the garbage collector stops tracking a
        #: tuple of strings and ints, while 100k tracked objects made every full collection,
        #: and so every lifetime, slower.
        self._exited: dict[ProcessKey, tuple] = {}
        self._exited_old: dict[ProcessKey, tuple] = {}
        self._exited_capacity = exited_capacity
        self._by_pid: dict[int, ProcessKey] = {}
        self._children: dict[int, set[int]] = {}
        self._lock = threading.RLock()
        telemetry = telemetry or Telemetry()
        self._evicted = telemetry.counter(
            "otel_linnix.process_table.evicted", "Processes evicted from the full process table")
        telemetry.gauge("otel_linnix.process_table.size", "Live processes in the table",
                        callback=lambda: len(self._procs))

    # ---- writes (receiver only) -------------------------------------------------------------

    def apply(self, records: Iterable[Record]) -> None:
        rec: Any  # dispatched on type(rec) below, which a type checker cannot narrow
        with self._lock:
            for rec in records:
                kind = type(rec)
                if kind is ProcessStart:
                    self._start(rec, self._live(rec.ppid))
                elif kind is ProcessExec:
                    self._exec(rec)
                elif kind is ProcessExit:
                    if rec.fork_folded:
                        self._exit_folded(rec, None)
                    else:
                        self._exit(rec)
                elif kind is ProcessSample:
                    self._sample(rec)
                elif kind is OomKill:
                    self._oom(rec)

    def ingest(self, records: Iterable[Record],
               cgroup_of: Callable[[ProcessStart | ProcessExit], str]) -> list[int]:
        """Apply kernel events in order under one lock, joining what the table knows into each
        record in place first: a fork inherits its parent's cgroup path (``cgroup_of`` resolves
        it otherwise), an exit gets the exe / argv / cgroup its lifetime recorded. Returns the
        pids the exits orphaned, whose new parent only /proc can tell.

        The records are the receiver's own, not yet handed on, so filling them in place costs
        no copy; this is the hot path of every process lifetime.
        """
        orphans: list[int] = []
        rec: Any  # dispatched on type(rec) below, which a type checker cannot narrow
        with self._lock:
            live = self._live
            for rec in records:
                kind = type(rec)
                if kind is ProcessExit:
                    if rec.fork_folded:
                        self._exit_folded(rec, cgroup_of)
                        continue
                    kids = self._exit(rec, join=True)
                    if kids:
                        orphans.extend(kids)
                elif kind is ProcessStart:
                    parent = live(rec.ppid)
                    self._join_cgroup(rec, parent, cgroup_of)
                    self._start(rec, parent)
                elif kind is ProcessExec:
                    self._exec(rec)
                elif kind is OomKill:
                    self._oom(rec)
        return orphans

    def insert(self, proc: Process) -> None:
        """Add a process learnt some other way (the /proc seed at start)."""
        with self._lock:
            if proc.tree_root == (0, 0):
                proc.tree_root = self._tree_root_for(proc.ppid, proc.key)
            self._put(proc, proc.key)

    def forget(self, keys: Iterable[ProcessKey]) -> None:
        """Drop lifetimes the agent does not watch (a sidecar's table holds only its cgroup's
        processes), without remembering them as exited."""
        with self._lock:
            for key in keys:
                self._drop(key)

    def set_parent(self, pid: int, new_ppid: int) -> None:
        """Record a re-parenting (the original parent stays in ``original_ppid``)."""
        with self._lock:
            proc = self._live(pid)
            if proc is None or proc.ppid == new_ppid:
                return
            self._unlink_child(proc.ppid, pid)
            proc.ppid = new_ppid
            self._children.setdefault(new_ppid, set()).add(pid)

    def _inherit(self, rec: ProcessStart | ProcessExit, parent: Process | None,
                 key: ProcessKey) -> tuple[str, tuple[str, ...], str, ProcessKey]:
        """(exe, argv, container id, tree root) of a new process: a fork inherits its
        parent's image (until exec) and tree."""
        if parent is not None:
            root = key if _is_tree_root_parent(rec.ppid) else parent.tree_root
            return parent.exe, parent.argv, parent.container_id, root
        return ("", (), identify(rec.cgroup_path).container_id,
                self._tree_root_for(rec.ppid, key, rec.parent_start_ns))

    def _start(self, rec: ProcessStart, parent: Process | None) -> None:
        ppid = rec.ppid
        key = (rec.pid, rec.start_ns // NS_PER_TICK)
        exe, argv, container, root = self._inherit(rec, parent, key)
        # positional, in Process's field order (test_proctable checks the fields land)
        proc = Process(rec.pid, ppid, rec.start_ns, rec.parent_start_ns, ppid, rec.uid, rec.gid,
                       rec.comm, exe, argv, False, rec.cgroup_id, rec.cgroup_path, container, 0,
                       True, root)
        if parent is not None and parent.trace_ctx is not None:  # children stay in the trace
            proc.trace_ctx = _child_trace(parent.trace_ctx)
            proc.traceparent = parent.traceparent
        self._put(proc, key)

    @staticmethod
    def _join_cgroup(rec: ProcessStart | ProcessExit, parent: Process | None,
                     cgroup_of: Callable[[ProcessStart | ProcessExit], str] | None) -> None:
        """A fork's cgroup path: its parent's when it stayed in the parent's cgroup."""
        if parent is not None and parent.cgroup_id == rec.cgroup_id and parent.cgroup_path:
            rec.cgroup_path = parent.cgroup_path
        elif cgroup_of is not None:
            rec.cgroup_path = cgroup_of(rec)

    def _exit_folded(self, rec: ProcessExit,
                     cgroup_of: Callable[[ProcessStart | ProcessExit], str] | None) -> None:
        """A lifetime whose exit stands for its fork too (``fork_folded``), and its execs
        (``execs_folded``): what ``_start``, ``_exec`` then ``_exit`` would join into it and
        remember of it, without a live entry made only to be dropped. Its parent is as it was
        at the fork: the decoder folds only a lifetime whose parent no record touched in
        between. Spelled out for the common case (a live parent), once per lifetime of a fork
        storm."""
        ppid, pid = rec.ppid, rec.pid
        key = (pid, rec.start_ns // NS_PER_TICK)
        by_pid = self._by_pid
        stale = by_pid.get(pid)
        if stale is not None:  # pid reuse (an exit was missed), or this lifetime made live
            self._drop(stale)     # elsewhere (its fork in another batch): not live after this
        parent_key = by_pid.get(ppid)
        parent = self._procs.get(parent_key) if parent_key is not None else None
        if parent is None:
            self._join_cgroup(rec, None, cgroup_of)
            exe, argv, container, root = self._inherit(rec, None, key)
        else:
            if parent.cgroup_id == rec.cgroup_id and parent.cgroup_path:
                rec.cgroup_path = parent.cgroup_path
            elif cgroup_of is not None:
                rec.cgroup_path = cgroup_of(rec)
            exe, argv, container = parent.exe, parent.argv, parent.container_id
            root = key if ppid <= 2 else parent.tree_root  # see _is_tree_root_parent
            if parent.trace_ctx is not None:
                rec.trace_ctx = _child_trace(parent.trace_ctx)
        rec.tree_root = root
        if rec.execs_folded:  # what ``_exec`` would have set: the last exec's image
            last = rec.execs_folded[-1]
            exe, argv, rec.argv_truncated = last.exe, last.argv, last.argv_truncated
        rec.exe, rec.argv = exe, argv
        self._remember_exit(key, (rec.start_ns, rec.parent_start_ns, ppid, rec.comm, exe, argv,
                                  rec.cgroup_path, container, root))

    def _exec(self, rec: ProcessExec) -> None:
        proc = self._procs.get(rec.key)
        if proc is None:
            return
        proc.comm, proc.exe, proc.argv = rec.comm, rec.exe, rec.argv
        proc.argv_truncated = rec.argv_truncated
        proc.uid = rec.uid
        proc.exec_count += 1
        if rec.traceparent and rec.traceparent != proc.traceparent:
            # its own context (validated by the receiver: vv-<trace id>-<parent id>-<flags>)
            proc.trace_ctx = (rec.traceparent[3:35], rec.traceparent[36:52], rec.tracestate)
            proc.traceparent = rec.traceparent

    def _oom(self, rec: OomKill) -> None:
        proc = self._procs.get(rec.key) if rec.start_ns else self._live(rec.pid)
        if proc is not None:
            proc.oom = rec.facts()

    def _exit(self, rec: ProcessExit, join: bool = False) -> set[int] | None:
        """Forget a lifetime, stamping its exit record with its tree root (and with ``join``
        the exe / argv / cgroup the table knew). Returns the children it orphaned."""
        key = (rec.pid, rec.start_ns // NS_PER_TICK)
        proc = self._procs.get(key)
        if proc is None:  # its start was never seen: what its exit record says is all there is
            rec.tree_root = self._tree_root_for(rec.ppid, key, rec.parent_start_ns)
            self._remember_exit(key, (
                rec.start_ns, rec.parent_start_ns, rec.ppid, rec.comm, rec.exe, rec.argv,
                rec.cgroup_path, identify(rec.cgroup_path).container_id,
                rec.tree_root))
            return None
        rec.tree_root = proc.tree_root
        rec.trace_ctx = proc.trace_ctx
        if proc.oom is not None:
            rec.oom = proc.oom
        if join:
            rec.exe, rec.argv, rec.argv_truncated = proc.exe, proc.argv, proc.argv_truncated
            rec.cgroup_path = proc.cgroup_path
        kids = self._children.pop(rec.pid, None)
        self._remember_exit(key, _EXITED_FIELDS(proc))
        self._drop(key)
        if kids:
            # Orphans: the kernel re-parents them to a subreaper or init; until the receiver
            # learns the real new parent (set_parent), point them at init.
            for child_pid in kids:
                child = self._live(child_pid)
                if child is not None and child.ppid == rec.pid:
                    child.ppid = 1
                    self._children.setdefault(1, set()).add(child_pid)
        return kids

    def _remember_exit(self, key: ProcessKey, row: tuple) -> None:
        """Two generations of plain dicts: an insert per exit costs a tenth of an OrderedDict's
        insert-and-evict, and at most ``exited_capacity`` entries are kept."""
        exited = self._exited
        exited[key] = row
        if len(exited) >= self._exited_capacity // 2:
            self._exited_old, self._exited = exited, {}

    def _exited_root(self, key: ProcessKey) -> ProcessKey | None:
        found = self._exited.get(key) or self._exited_old.get(key)
        return found[-1] if found is not None else None

    def _sample(self, rec: ProcessSample) -> None:
        proc = self._procs.get(rec.key)
        if proc is not None:
            proc.last_sample = rec
            rec.cgroup_path = proc.cgroup_path

    def _tree_root_for(self, ppid: int, own_key: ProcessKey, parent_start_ns: int = 0
                       ) -> ProcessKey:
        if _is_tree_root_parent(ppid):
            return own_key
        parent = self._live(ppid)
        if parent is not None:
            return parent.tree_root
        if parent_start_ns:  # the parent may have exited already: the recent-exit memory knows
            return self._exited_root(process_key(ppid, parent_start_ns)) or own_key
        return own_key

    def _put(self, proc: Process, key: ProcessKey) -> None:
        old_key = self._by_pid.get(proc.pid)
        if old_key is not None and old_key != key:
            self._drop(old_key)  # pid reuse: the old lifetime's exit was missed
        procs = self._procs
        procs[key] = proc
        procs.move_to_end(key)  # a no-op for a new key; a re-inserted one becomes the newest
        self._by_pid[proc.pid] = key
        self._children.setdefault(proc.ppid, set()).add(proc.pid)
        while len(self._procs) > self.capacity:
            oldest = next(iter(self._procs))
            self._drop(oldest)
            self._evicted.add()

    def _drop(self, key: ProcessKey) -> bool:
        """Forget one lifetime; False if it was not known."""
        proc = self._procs.pop(key, None)
        if proc is None:
            return False
        if self._by_pid.get(proc.pid) == key:
            del self._by_pid[proc.pid]
        self._unlink_child(proc.ppid, proc.pid)
        return True

    def _unlink_child(self, ppid: int, pid: int) -> None:
        kids = self._children.get(ppid)
        if kids is not None:
            kids.discard(pid)
            if not kids:
                del self._children[ppid]

    def _live(self, pid: int) -> Process | None:
        key = self._by_pid.get(pid)
        return self._procs.get(key) if key is not None else None

    # ---- reads (any thread) -----------------------------------------------------------------

    def peek(self, pid: int) -> Process | None:
        """The live process itself, not a copy: only for the pipeline's own thread (the rules),
        which reads per record what the receiver wrote just before on that thread. Read-only."""
        key = self._by_pid.get(pid)
        return self._procs.get(key) if key is not None else None

    def recall(self, key: ProcessKey) -> Process | None:
        """A live or recently exited lifetime: the live one itself (like ``peek``, only for
        the pipeline's own thread), an exited one as it was at exit. Its ``original_ppid`` and
        ``parent_start_ns`` name its fork-time parent, which ``recall`` may find in turn."""
        proc = self._procs.get(key)
        if proc is not None:
            return proc
        row = self._exited.get(key) or self._exited_old.get(key)
        return _from_exited(key[0], row) if row is not None else None

    def get(self, pid: int) -> Process | None:
        with self._lock:
            proc = self._live(pid)
            return _copy(proc) if proc is not None else None

    def get_key(self, key: ProcessKey) -> Process | None:
        with self._lock:
            proc = self._procs.get(key)
            return _copy(proc) if proc is not None else None

    def children(self, pid: int) -> list[Process]:
        with self._lock:
            return [_copy(p) for c in self._children.get(pid, ()) if (p := self._live(c))]

    def snapshot(self) -> list[Process]:
        with self._lock:
            return [_copy(p) for p in self._procs.values()]

    def started_since(self, since_ns: int, tree_root: ProcessKey | None = None,
                      cap: int = 4096) -> list[ProcessKey]:
        """Keys of live processes started at or after ``since_ns`` (of one tree), oldest first:
        the newest end of the table, without copying it."""
        out: list[ProcessKey] = []
        with self._lock:
            for key in reversed(self._procs):
                proc = self._procs[key]
                if proc.start_ns < since_ns or len(out) >= cap:
                    break
                if tree_root is None or proc.tree_root == tree_root:
                    out.append(key)
        out.reverse()
        return out

    def count_trees(self, scope=None) -> dict[ProcessKey, int]:
        """Live processes per tree root (those ``scope.admits``, when given), without copying."""
        counts: dict[ProcessKey, int] = {}
        with self._lock:
            for proc in self._procs.values():
                if scope is None or scope.everything or scope.admits(
                        proc.comm, proc.exe, proc.uid, proc.cgroup_path, proc.container_id):
                    counts[proc.tree_root] = counts.get(proc.tree_root, 0) + 1
        return counts

    def count_by_uid(self, uids: set[int]) -> dict[int, int]:
        """Live processes of each of ``uids``, without copying the table."""
        counts: dict[int, int] = {}
        with self._lock:
            for proc in self._procs.values():
                if proc.uid in uids:
                    counts[proc.uid] = counts.get(proc.uid, 0) + 1
        return counts

    def tree_root_of(self, key: ProcessKey) -> ProcessKey | None:
        """The tree root of a live or recently exited lifetime (None: not known)."""
        with self._lock:
            proc = self._procs.get(key)
            return proc.tree_root if proc is not None else self._exited_root(key)

    def trace_ctx_of(self, key: ProcessKey) -> TraceCtx | None:
        """The application trace a live process joined (None: its tree's own, or not live)."""
        proc = self._procs.get(key)
        return proc.trace_ctx if proc is not None else None

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, pid: int) -> bool:
        return pid in self._by_pid
