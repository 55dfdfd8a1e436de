"""The eBPF process receiver: kernel events → records → process table → pipelines.

Two threads: the poller drains the ring buffer and hands decoded batches on; the sampler reads
/proc every ``sample_interval``. Both write the process table before handing records on.
"""

from __future__ import annotations

import json
import os
import threading
import time

from otel_linnix import memcg, procfs
from otel_linnix.component import CreateSettings, Receiver
from otel_linnix.config.types import parse_duration
from otel_linnix.host import boot_ns_now
from otel_linnix.receivers import running
from otel_linnix.receivers.ebpf_process.cgroups import CgroupPaths
from otel_linnix.receivers.ebpf_process.decode import Decoder, event_ns
from otel_linnix.receivers.ebpf_process.kernelstats import KernelStats
from otel_linnix.receivers.ebpf_process.loader import WAKE_FILL, Probe
from otel_linnix.receivers.ebpf_process.sampler import Sampler
from otel_linnix.receivers.ebpf_process.seed import seed
from otel_linnix.receivers.hosttotals import HostTotals
from otel_linnix.records import (
    OomKill,
    ProcessExec,
    ProcessExit,
    ProcessStart,
    Record,
    time_slices,
    unfolded,
)
from otel_linnix.statedir import default_state_dir
from otel_linnix.tracecontext import clean_tracestate, parse_traceparent

#: A drain is handed on in slices of at most this much record time. The rules judge a trend
#: from evaluations taken at the end of what they are handed (every 250 ms of record time at
#: most): whole 200 ms drains left a fork bomb that fills in 0.35 s one point short of the four
#: its growth needs. Slicing a drain that is already in cache costs far less than waking for it.
PUBLISH_SLICE_NS = 50_000_000


class EbpfProcessReceiver(Receiver):
    def __init__(self, settings: CreateSettings, config: dict) -> None:
        self._ctx = settings.context
        self._log = settings.logger
        self._config = config
        self._interval = parse_duration(config["sample_interval"])
        self._poll_s = parse_duration(config["poll_interval"])
        self._prefix = config["cgroup_prefix"]
        self._cgroups = CgroupPaths()
        self._decoder = Decoder(config["argv_max_args"], config["argv_max_bytes"])
        self._sampler = Sampler(config["sample_top_n"])
        self._probe: Probe | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        t = self._ctx.telemetry
        self._totals = HostTotals(t)
        self._lost = t.counter("otel_linnix.receiver.lost",
                               "Kernel events lost (ring buffer or lifetime map full, or malformed)")
        self._lost_seen = {"ringbuf": 0, "lifetime_map": 0, "malformed": 0}
        self._rescued = t.counter("otel_linnix.receiver.rescued",
                                  "Kernel records the main ring buffer refused and the rescue "
                                  "ring buffer took (none lost)")
        self._rescued_seen = 0
        self._early_drains = t.counter(
            "otel_linnix.receiver.early_drains",
            "Ring buffer drains begun before poll_interval ended: the kernel woke the "
            "receiver for a filling buffer")
        self._trace_env = config["traceparent"]
        self._traceparents = t.counter(
            "otel_linnix.receiver.traceparent",
            "Execs with TRACEPARENT in their environment, by result (joined, malformed, unsampled)")
        self._next_lost_check = 0.0
        self._wake_fd: int | None = None
        self._kernel_stats = KernelStats(t, config["pressure_cgroups"])
        self._sample_seconds = t.counter("otel_linnix.receiver.sampler.seconds",
                                         "Wall time spent sampling /proc", "s")
        prefix = self._prefix
        #: A sidecar's scope (cgroup_prefix), for what the table learns from /proc and reports.
        self._admits = (lambda proc: proc.cgroup_path.startswith(prefix)) if prefix else None
        self._running = running.from_config(
            self._ctx.process_table, config, in_scope=self._admits,
            state_path=os.path.join(default_state_dir(), "receivers",
                                    f"{settings.id.replace('/', '_')}.running.json"),
            boot_id=self._ctx.host.boot_id)

    def start(self) -> None:
        t0 = time.monotonic()
        self._probe = Probe(self._config["ringbuf_pages"], self._config["max_lifetimes"],
                            traceparent=self._trace_env["enabled"])
        self._kernel_stats.start()
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._probe.watch(self._wake_fd)
        seeded = seed(self._ctx.process_table, self._config["argv_max_args"],
                      self._config["argv_max_bytes"], self._admits,
                      ) if self._config["seed_from_proc"] else 0
        for target, name in ((self._poll_loop, "ebpf-poll"), (self._sample_loop, "ebpf-sample")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._log.info("ebpf_process attached in %.2fs (%d processes seeded from /proc); "
                       "programs %s", time.monotonic() - t0, seeded,
                       json.dumps(self._probe.info.get("programs", {}), sort_keys=True))

    def shutdown(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._wake_fd is not None:
            os.eventfd_write(self._wake_fd, 1)  # ends the poller's wait for records
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self._probe is not None:
            self._next_lost_check = 0.0
            self._drain()  # what the kernel produced before we stopped still goes out
            self._probe.close()
            self._probe = None
            self.consumer.consume(self._running.final(boot_ns_now()))
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None

    # ---- events ----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        """Sleep until the kernel has records, then let ``poll_interval`` gather more and
        drain: fewer, larger batches cost far less downstream than one per wake-up (the ring
        buffer holds what arrives meanwhile), and an idle host wakes nothing."""
        while not self._stop.is_set():
            if not self._probe.pending():  # records that came during the drain: no signal
                self._probe.wait()
            if self._gather():
                return
            self._drain()

    def _gather(self) -> bool:
        """Wait ``poll_interval`` for records to gather (True: stopping). A drain after a long
        sleep runs on cold caches, and costs about as much for ten records as for a hundred:
        at moderate rates, batches gathered over 200 ms cost the agent half what 50 ms ones
        did. A burst (long command lines, a storm) must not wait to overflow the buffer: the
        kernel wakes this wait each time a quarter of the buffer (``WAKE_FILL``) has been
        written, and it is drained at once if at least half that is pending (at most 3/8 of
        the buffer then). Nothing else wakes it: looking at the buffer every 50 ms instead was
        20 wake-ups a second, and a tenth of the agent's CPU in a build."""
        deadline = time.monotonic() + self._poll_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._probe.wait(left)
            if self._stop.is_set():
                return True
            if self._probe.fill() >= WAKE_FILL / 2:
                self._early_drains.add(1)
                return False

    def _drain(self) -> None:
        records = self._probe.consume(self._decode_folding)
        folded: tuple[int, int] | tuple[None, None] = (self._decoder.folded,
                                                       self._decoder.folded_execs)
        rescued = self._probe.consume_rescued(self._decoder.decode)
        if rescued:  # rare: into the batch in the order the events happened, nothing folded
            records, folded = sorted(unfolded(records) + rescued, key=event_ns), (0, 0)
        for part in time_slices(records, PUBLISH_SLICE_NS) if records else ():
            self._publish(part, *(folded if part is records else (None, None)))
        now = time.monotonic()
        if now >= self._next_lost_check:  # two bpf(2) calls: once a second is plenty
            self._next_lost_check = now + 1.0
            self._account_lost()

    def _decode_folding(self, raws: list[memoryview]) -> list[Record]:
        return self._decoder.decode(raws, fold=True)

    def _publish(self, records: list[Record], folded_forks: int | None = None,
                 folded_execs: int | None = None) -> None:
        """Into the table (which joins what it knows into each record), then downstream."""
        table = self._ctx.process_table
        if self._decoder.traceparents:  # the decoder notes them: no pass over every batch
            execs, self._decoder.traceparents = self._decoder.traceparents, []
            self._check_traceparents(execs)
        if self._decoder.ooms:  # the decoder notes them: no pass over every batch
            ooms, self._decoder.ooms = self._decoder.ooms, []
            for rec in ooms:
                self._join_oom(rec)
        orphans = table.ingest(records, self._cgroup_of)
        for pid in orphans:  # the kernel re-parented them: learn to whom
            stat = procfs.read_stat(pid)
            if stat is not None:
                table.set_parent(pid, stat.ppid)
        self._totals.count(records, folded_forks, folded_execs)
        out = records
        if not self._config["exec_events"]:  # the table still learnt exe/argv from them
            out = [r for r in out if type(r) is not ProcessExec]
            for ended in out:
                if type(ended) is ProcessExit and ended.execs_folded:
                    ended.execs_folded = ()
        if self._prefix:
            out = [r for r in out if self._in_scope(r)]
            # the table (and so /processes, /graph) holds only the watched cgroup's processes
            table.forget([r.key for r in records
                          if type(r) is ProcessStart and not r.cgroup_path.startswith(self._prefix)])
        if out:
            self.consumer.consume(out)

    def _check_traceparents(self, execs: list[ProcessExec]) -> None:
        """Clear a TRACEPARENT the table must not trust (malformed; unsampled when asked to
        respect the sampled flag), counting each outcome; the process keeps its own trace."""
        for rec in execs:
            parsed = parse_traceparent(rec.traceparent)
            if parsed is None:
                result = "malformed"
            elif not parsed.sampled and self._trace_env["respect_sampled"]:
                result = "unsampled"
            else:
                rec.tracestate = clean_tracestate(rec.tracestate)
                self._traceparents.add(1, (("result", "joined"),))
                continue
            rec.traceparent = rec.tracestate = ""
            self._traceparents.add(1, (("result", result),))

    def _join_oom(self, rec: OomKill) -> None:
        """The victim's lifetime when its fork was not seen; its cgroup's kills counted."""
        if not rec.start_ns:
            proc = self._ctx.process_table.get(rec.pid)
            rec.start_ns = proc.start_ns if proc is not None else 0
        if rec.memcg and not rec.memcg.startswith("/…"):
            self._kernel_stats.watch_memcg(rec.memcg, memcg.directory(rec.memcg))

    def _cgroup_of(self, rec: ProcessStart | ProcessExit) -> str:
        return self._cgroups.path(rec.cgroup_id) or procfs.read_cgroup(rec.pid)

    def _in_scope(self, rec: Record) -> bool:
        """cgroup_prefix (a sidecar watching one container): keep only that cgroup's records."""
        path = getattr(rec, "cgroup_path", None)
        if path is None:
            proc = self._ctx.process_table.get(rec.pid)
            path = proc.cgroup_path if proc else procfs.read_cgroup(rec.pid)
        return path.startswith(self._prefix)

    def _account_lost(self) -> None:
        totals = {**self._probe.lost(), "malformed": self._decoder.unknown}
        for reason, total in totals.items():
            if total > self._lost_seen[reason]:
                self._lost.add(total - self._lost_seen[reason], (("reason", reason),))
                self._lost_seen[reason] = total
        rescued = self._probe.rescued()
        if rescued > self._rescued_seen:
            self._rescued.add(rescued - self._rescued_seen)
            self._rescued_seen = rescued

    # ---- sampling --------------------------------------------------------------------------

    def _sample_loop(self) -> None:
        while not self._stop.wait(self._interval):
            t0 = time.monotonic()
            samples = self._sampler.tick(self._ctx.watched.keys())
            pressure = self._kernel_stats.tick(boot_ns_now())
            if self._prefix:
                samples = [x for x in samples if procfs.read_cgroup(x.pid).startswith(self._prefix)]
                pressure = [x for x in pressure if x.cgroup.startswith(self._prefix)]
            for pid, ppid in self._sampler.take_parents().items():
                self._ctx.process_table.set_parent(pid, ppid)  # a no-op unless re-parented
            if samples:
                self._ctx.process_table.apply(samples)
            reports = self._running.due(boot_ns_now())
            if samples or pressure or reports:
                self.consumer.consume([*samples, *pressure, *reports])
            self._sample_seconds.add(time.monotonic() - t0)

