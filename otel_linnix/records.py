"""The project's own plain records: what receivers produce and processors and exporters consume.

These are deliberately not OpenTelemetry SDK objects: receivers and processors stay free of wire
formats, and only exporters translate. All timestamps are CLOCK_BOOTTIME nanoseconds (the clock
the kernel stamps ``task->start_boottime`` and ``bpf_ktime_get_boot_ns`` with); exporters turn
them into wall-clock time through :class:`otel_linnix.host.HostInfo`.

A process is identified by ``(pid, start tick)``: ``/proc/PID/stat`` reports the start time in
clock ticks (``start_boottime / (1e9 / USER_HZ)``), while eBPF sees nanoseconds. Keying on the
tick makes a process seeded from /proc and the same process seen by eBPF compare equal.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from typing import Any

#: Nanoseconds per USER_HZ clock tick; the kernel ABI fixes USER_HZ at 100 on Linux.
NS_PER_TICK = 10_000_000

ProcessKey = tuple[int, int]


def process_key(pid: int, start_ns: int) -> ProcessKey:
    """Identity of one process lifetime: pid plus start tick (pids are reused, ticks are not)."""
    return (pid, start_ns // NS_PER_TICK)


@dataclass(slots=True, init=False)
class ProcessStart:
    """A new thread-group leader (fork/clone without CLONE_THREAD)."""

    pid: int
    ppid: int
    start_ns: int
    parent_start_ns: int
    uid: int
    gid: int
    comm: str
    cgroup_id: int = 0
    #: Set by the receiver from /proc or the cgroup id; empty when unknown.
    cgroup_path: str = ""

    def __init__(self, pid: int, ppid: int, start_ns: int, parent_start_ns: int, uid: int,
                 gid: int, comm: str, cgroup_id: int = 0, cgroup_path: str = "") -> None:
        """Written out for mypyc, as ``ProcessExit``'s is."""
        self.pid = pid
        self.ppid = ppid
        self.start_ns = start_ns
        self.parent_start_ns = parent_start_ns
        self.uid = uid
        self.gid = gid
        self.comm = comm
        self.cgroup_id = cgroup_id
        self.cgroup_path = cgroup_path

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)


@dataclass(slots=True, init=False)
class ProcessExec:
    """A successful execve inside a lifetime; updates name, path and argv."""

    pid: int
    start_ns: int
    ts_ns: int
    comm: str
    exe: str
    argv: tuple[str, ...]
    argv_truncated: bool = False
    uid: int = 0
    #: TRACEPARENT / TRACESTATE from the new image's environment, as the kernel copied them
    #: (the receiver clears a malformed or, with respect_sampled, unsampled one).
    traceparent: str = ""
    tracestate: str = ""

    def __init__(self, pid: int, start_ns: int, ts_ns: int, comm: str, exe: str,
                 argv: tuple[str, ...], argv_truncated: bool = False, uid: int = 0,
                 traceparent: str = "", tracestate: str = "") -> None:
        """Written out for mypyc, as ``ProcessExit``'s is."""
        self.pid = pid
        self.start_ns = start_ns
        self.ts_ns = ts_ns
        self.comm = comm
        self.exe = exe
        self.argv = argv
        self.argv_truncated = argv_truncated
        self.uid = uid
        self.traceparent = traceparent
        self.tracestate = tracestate

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)


#: (trace id hex, remote parent span id hex or "", trace state): the trace a lifetime belongs
#: to when it, or an ancestor, was started with TRACEPARENT. JSON-safe, like every record field.
TraceCtx = tuple[str, str, str]


@dataclass(slots=True, init=False)
class ProcessExit:
    """One complete lifetime, emitted when the thread-group leader exits.

    ``ppid`` / ``parent_start_ns`` name the parent at fork time (the original parent, even if
    the process was re-parented later). ``exit_code`` is the value passed to exit() when
    ``signal`` is 0; otherwise the process died by ``signal``.
    """

    pid: int
    ppid: int
    start_ns: int
    parent_start_ns: int
    exit_ns: int
    uid: int
    gid: int
    comm: str
    exe: str = ""
    argv: tuple[str, ...] = ()
    argv_truncated: bool = False
    exit_code: int = 0
    signal: int = 0
    core_dumped: bool = False
    cgroup_id: int = 0
    cgroup_path: str = ""
    exec_count: int = 0
    #: Threads created over the lifetime (thread-group members, leader excluded).
    threads_created: int = 0
    cpu_user_ns: int = 0
    cpu_system_ns: int = 0
    #: True when the agent saw the fork (False: seeded from /proc or started before the agent).
    fork_seen: bool = True
    #: The kernel's OOM killer chose this process (oom:mark_victim, flagged in the kernel).
    oom_killed: bool = False
    #: The lifetime's fork came in the same read of the ring buffer and nothing else named it
    #: (no exec, no child, no record of its parent in between): the receiver sent no
    #: ``ProcessStart`` for it, this record stands for both. Whoever counts or shows forks
    #: counts this exit as one too (``fork_of``). How the record travelled, not what happened:
    #: not part of its identity.
    fork_folded: bool = field(default=False, compare=False)
    #: The execs of a ``fork_folded`` lifetime that came in the same read and that nothing
    #: else needed as records of their own (none carried a TRACEPARENT): this exit stands for
    #: them too, in order, after its fork. Whoever counts or shows execs takes them from here.
    execs_folded: tuple[ProcessExec, ...] = field(default=(), compare=False)
    #: The name at fork when ``execs_folded`` changed it ("" when ``comm`` was the name at fork
    #: too): what the fork this exit stands for is named (``fork_of``).
    fork_comm: str = field(default="", compare=False)
    #: The process tree's root (one tree → one trace), stamped by the process table at exit:
    #: derived state, so not part of a record's identity (a replayed record equals its source).
    tree_root: ProcessKey = field(default=(0, 0), compare=False)
    #: Set by the process table at exit when the lifetime joins an application's trace.
    trace_ctx: TraceCtx | None = field(default=None, compare=False)
    #: What the OOM killer saw (``OomKill.facts()``), joined by the process table at exit.
    oom: dict[str, Any] | None = field(default=None, compare=False)

    def __init__(self, pid: int, ppid: int, start_ns: int, parent_start_ns: int, exit_ns: int,
                 uid: int, gid: int, comm: str, exe: str = "", argv: tuple[str, ...] = (),
                 argv_truncated: bool = False, exit_code: int = 0, signal: int = 0,
                 core_dumped: bool = False, cgroup_id: int = 0, cgroup_path: str = "",
                 exec_count: int = 0, threads_created: int = 0, cpu_user_ns: int = 0,
                 cpu_system_ns: int = 0, fork_seen: bool = True, oom_killed: bool = False,
                 fork_folded: bool = False, execs_folded: tuple[ProcessExec, ...] = (),
                 fork_comm: str = "", tree_root: ProcessKey = (0, 0),
                 trace_ctx: TraceCtx | None = None, oom: dict[str, Any] | None = None) -> None:
        """Written out, not generated: mypyc compiles this one, while it leaves the
        ``dataclass`` one interpreted, which cost the decoder a third of its time per exit
        (``tests/test_records.py`` holds it to the fields)."""
        self.pid = pid
        self.ppid = ppid
        self.start_ns = start_ns
        self.parent_start_ns = parent_start_ns
        self.exit_ns = exit_ns
        self.uid = uid
        self.gid = gid
        self.comm = comm
        self.exe = exe
        self.argv = argv
        self.argv_truncated = argv_truncated
        self.exit_code = exit_code
        self.signal = signal
        self.core_dumped = core_dumped
        self.cgroup_id = cgroup_id
        self.cgroup_path = cgroup_path
        self.exec_count = exec_count
        self.threads_created = threads_created
        self.cpu_user_ns = cpu_user_ns
        self.cpu_system_ns = cpu_system_ns
        self.fork_seen = fork_seen
        self.oom_killed = oom_killed
        self.fork_folded = fork_folded
        self.execs_folded = execs_folded
        self.fork_comm = fork_comm
        self.tree_root = tree_root
        self.trace_ctx = trace_ctx
        self.oom = oom

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)

    @property
    def failed(self) -> bool:
        return self.signal != 0 or self.exit_code != 0


@dataclass(slots=True)
class ProcessSample:
    """Resource use of one live process at one instant, read from /proc by the sampler."""

    pid: int
    start_ns: int
    ts_ns: int
    cpu_user_ns: int
    cpu_system_ns: int
    rss_bytes: int
    vms_bytes: int
    threads: int
    fds: int
    fd_limit: int
    comm: str = ""
    #: Time spent runnable but waiting for a CPU, cumulative (run-queue delay).
    run_delay_ns: int = 0
    #: Stamped by the process table (the sampler reads /proc only for numbers).
    cgroup_path: str = ""

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)


@dataclass(slots=True)
class OomKill:
    """The kernel's OOM killer chose a victim (oom:mark_victim): its memory as the kernel
    counted it at that moment, and the memory cgroup that ran out (``memcg``, the one whose
    limit was hit, and that limit) as the kernel had them; both empty for a host-wide OOM."""

    pid: int
    start_ns: int
    ts_ns: int
    comm: str
    uid: int
    oom_score_adj: int
    total_vm_bytes: int
    anon_rss_bytes: int
    file_rss_bytes: int
    shmem_rss_bytes: int
    pgtables_bytes: int
    memcg: str = ""
    memory_limit_bytes: int = 0

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)

    @property
    def rss_bytes(self) -> int:
        return self.anon_rss_bytes + self.file_rss_bytes + self.shmem_rss_bytes

    def facts(self) -> dict[str, Any]:
        """JSON-safe, for the victim's exit record and span (cgroup and limit when known)."""
        facts: dict[str, Any] = {
            "rss_bytes": self.rss_bytes, "anon_rss_bytes": self.anon_rss_bytes,
            "total_vm_bytes": self.total_vm_bytes, "oom_score_adj": self.oom_score_adj}
        if self.memcg:
            facts["memcg"] = self.memcg
        if self.memory_limit_bytes:
            facts["memory_limit_bytes"] = self.memory_limit_bytes
        return facts


@dataclass(slots=True)
class PressureSample:
    """Pressure stall totals (PSI) of one resource, for the host (cgroup "/") or one cgroup:
    cumulative nanoseconds in which some / all non-idle tasks were stalled on it."""

    ts_ns: int
    resource: str  # "cpu" | "memory" | "io"
    cgroup: str
    some_ns: int
    full_ns: int


@dataclass(slots=True)
class ProcessRunning:
    """A lifetime still going at ``ts_ns``, reported by its receiver once: when it has run
    longer than ``unfinished_after``, or else when the agent stops. Exporters make it a span
    marked unfinished, with the ids its final span will have, so a long-lived process is seen
    before it exits."""

    pid: int
    ppid: int
    start_ns: int
    parent_start_ns: int
    ts_ns: int
    uid: int
    gid: int
    comm: str
    exe: str = ""
    argv: tuple[str, ...] = ()
    cgroup_path: str = ""
    fork_seen: bool = True
    tree_root: ProcessKey = field(default=(0, 0), compare=False)
    trace_ctx: TraceCtx | None = field(default=None, compare=False)

    @property
    def key(self) -> ProcessKey:
        return process_key(self.pid, self.start_ns)


@dataclass(frozen=True, slots=True)
class AgentTelemetry:
    """The agent's own metrics (its counters and gauges, ``telemetry.MetricPoint`` values),
    made by the service every ``service.telemetry.metrics.interval`` and handed to the metrics
    pipelines' exporters. Unlike every other record's, its times are wall clock (Unix ns): they
    are about this agent now, also while it replays a recording made elsewhere."""

    time_unix_ns: int
    #: When the agent started: the start of its counters.
    start_time_unix_ns: int
    points: tuple[Any, ...]


@dataclass(slots=True)
class AlertSubject:
    """What an alert is about: one process (pid set) or the host (pid 0)."""

    pid: int = 0
    start_ns: int = 0
    comm: str = ""
    exe: str = ""
    container_id: str = ""
    cgroup_path: str = ""
    #: The culprit's command line, already redacted and bounded (never raw argv).
    argv: tuple[str, ...] = ()
    #: Kubernetes pod uid from the culprit's cgroup, when it runs in a pod.
    pod_uid: str = ""


@dataclass(slots=True)
class Alert:
    """A rule firing or resolving. ``evidence`` holds the numbers behind it (JSON-safe)."""

    id: str
    rule: str
    severity: str
    state: str  # "firing" | "resolved"
    subject: AlertSubject
    message: str
    first_seen_ns: int
    last_seen_ns: int
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Filled in by llm_annotate (or its rule-based fallback); JSON-safe.
    annotation: dict[str, Any] | None = None


Record = (ProcessStart | ProcessExec | ProcessExit | ProcessSample | OomKill | PressureSample
          | ProcessRunning | AgentTelemetry | Alert)

#: Alert severities, lowest first: the one definition (rules files, ranks, log levels use it).
SEVERITIES = ("info", "warning", "critical")


def fork_of(rec: ProcessExit) -> ProcessStart:
    """The fork a folded exit stands for (``ProcessExit.fork_folded``), as its own record."""
    return ProcessStart(rec.pid, rec.ppid, rec.start_ns, rec.parent_start_ns, rec.uid, rec.gid,
                        rec.fork_comm or rec.comm, rec.cgroup_id, rec.cgroup_path)


def fork_comm(rec: ProcessStart | ProcessExit) -> str:
    """The name a fork, or the folded exit standing for it, had at fork time."""
    return rec.comm if type(rec) is ProcessStart else (rec.fork_comm or rec.comm)


def unfolded(records: list[Record]) -> list[Record]:
    """``records`` with each folded exit's fork and execs records of their own again, just
    before a copy of it that stands for itself alone: for a batch merged with others by event
    time (the forks and execs then sort into their place), and for a recording, which holds
    what happened, not how the receiver carried it."""
    out: list[Record] = []
    for rec in records:
        if type(rec) is ProcessExit and rec.fork_folded:
            out.append(fork_of(rec))
            out += rec.execs_folded
            out.append(replace(rec, fork_folded=False, execs_folded=(), fork_comm=""))
        else:
            out.append(rec)
    return out


def standing_for(rec: Record) -> tuple[Record, ...]:
    """The records an exit stands for, as they happened: its fork and execs when folded
    (``fork_folded``, ``execs_folded``), then itself; any other record alone."""
    if type(rec) is not ProcessExit or not rec.fork_folded:
        return (rec,)
    return (fork_of(rec), *rec.execs_folded, rec)


def time_slices(records: list[Record], span_ns: int) -> list[list[Record]]:
    """``records`` (in time order) cut where ``span_ns`` of record time has passed since the
    slice began: one list, itself, when they span less. Found by bisection, not a pass."""
    if not records or record_time(records[-1]) - record_time(records[0]) < span_ns:
        return [records]
    out, start = [], 0
    while start < len(records):
        end = bisect_left(records, record_time(records[start]) + span_ns, lo=start + 1,
                          key=record_time)
        out.append(records[start:end])
        start = end
    return out


def record_time(rec: Record) -> int:
    """When a record happened (the clock replay paces itself by)."""
    kind = type(rec)
    if kind is ProcessStart:
        return rec.start_ns
    if kind is ProcessExit:
        return rec.exit_ns
    if kind is Alert:
        return rec.last_seen_ns
    return rec.ts_ns
