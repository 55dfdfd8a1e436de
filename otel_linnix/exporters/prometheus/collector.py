"""The Prometheus view of the agent: a custom prometheus-client collector over the live state.

Pull-based: nothing is stored here; every scrape reads ``ctx.telemetry`` (the agent's health,
host fork/exec/exit totals, alerts fired), ``ctx.alerts`` (alerts firing now) and the process
table's last samples. Process series are bounded: only the top-N processes by CPU, by RSS and by
open fds (plus up to N processes a rule watches) get series, labelled pid / comm / container_id
(never argv), so 10 000 live processes still yield at most 4·N series per metric.

``build_registry`` is what both the ``prometheus`` exporter and the HTTP API's ``/metrics``
serve, so the two always show the same metrics.
"""

from __future__ import annotations

import heapq
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from opentelemetry.semconv._incubating.attributes.cpu_attributes import CPU_MODE
from opentelemetry.semconv._incubating.metrics import process_metrics as M
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from otel_linnix.component import AgentContext
from otel_linnix.exporters.prometheus.naming import label_name, metric_base_name
from otel_linnix.proctable import Process
from otel_linnix.telemetry import MetricPoint

DEFAULT_TOP_N = 10
PROCESS_LABELS = ("pid", "comm", "container_id")
_NS = 1e-9
#: Not a semantic-convention metric: the soft RLIMIT_NOFILE, so dashboards can show fds / limit.
FD_LIMIT = "process.unix.file_descriptor.limit"


def _cpu_ns(p: Process) -> int:
    s = p.last_sample
    return s.cpu_user_ns + s.cpu_system_ns


#: Ranking keys: a process gets series when it is among the top N by any of these.
_RANKINGS: tuple[Callable[[Process], float], ...] = (
    _cpu_ns, lambda p: p.last_sample.rss_bytes, lambda p: p.last_sample.fds)


def select_processes(procs: Iterable[Process], top_n: int,
                     watched: Iterable[tuple[int, int]] = ()) -> list[Process]:
    """Sampled processes worth a series: union of the top-N rankings plus ≤ N watched ones."""
    sampled = [p for p in procs if p.last_sample is not None]
    chosen: dict[tuple[int, int], Process] = {}
    for key_fn in _RANKINGS:
        for p in heapq.nlargest(top_n, sampled, key=key_fn):
            chosen[p.key] = p
    wanted = set(watched)
    extra = [p for p in sampled if p.key in wanted and p.key not in chosen]
    for p in extra[:top_n]:
        chosen[p.key] = p
    return sorted(chosen.values(), key=lambda p: p.pid)


class AgentCollector(Collector):
    """Turns the agent's live state into metric families at scrape time."""

    def __init__(self, ctx: AgentContext, top_n: int = DEFAULT_TOP_N, namespace: str = "",
                 process_metrics: bool = True) -> None:
        self._ctx = ctx
        self._top_n = top_n
        self._ns = namespace
        self._process_metrics = process_metrics

    def collect(self) -> Iterator[Metric]:
        seen: set[str] = set()
        families = [*self._telemetry(), *self._firing_alerts()]
        if self._process_metrics:
            families += self._processes()
        for family in families:
            if family.name not in seen:  # one family per name, whatever the sources say
                seen.add(family.name)
                yield family

    def _name(self, dotted: str, unit: str = "1") -> str:
        return metric_base_name(dotted, unit, self._ns)

    def _telemetry(self) -> list[Metric]:
        """Every health metric; series of one metric may carry different label sets."""
        families: dict[str, Metric] = {}
        for point in self._ctx.telemetry.snapshot():
            family = families.get(point.name)
            if family is None:
                family = self._family(point)
                families[point.name] = family
            labels = {label_name(k): str(v) for k, v in point.labels}
            sample = family.name + "_total" if family.type == "counter" else family.name
            family.add_sample(sample, labels, float(point.value))
        return list(families.values())

    def _family(self, point: MetricPoint) -> Metric:
        name = self._name(point.name, point.unit)
        doc = point.description or point.name
        if point.kind == "counter":
            return CounterMetricFamily(name, doc)
        return GaugeMetricFamily(name, doc)

    def _firing_alerts(self) -> list[Metric]:
        tally = Tally((a.rule, a.severity) for a in self._ctx.alerts.firing())
        family = GaugeMetricFamily(self._name("otel_linnix.alerts.active"),
                                   "Alerts firing now in the alert store, by rule and severity",
                                   labels=("rule", "severity"))
        for (rule, severity), n in sorted(tally.items()):
            family.add_metric((rule, severity), n)
        return [family, self._alert_firing()]

    def _alert_firing(self) -> Metric:
        """One series per firing alert's rule, severity and culprit container / pod: bounded
        by the alert store's firing cap, and never a pid (every process would be a series)."""
        tally = Tally((a.rule, a.severity, a.subject.container_id[:12], a.subject.pod_uid)
                      for a in self._ctx.alerts.firing())
        family = GaugeMetricFamily(
            self._name("otel_linnix.alert.firing"),
            "Alerts firing now, by rule, severity and culprit container / pod (for routing "
            "through Prometheus alerting rules or Grafana alerting)",
            labels=("rule", "severity", "container_id", "pod_uid"))
        for labels, n in sorted(tally.items()):
            family.add_metric(labels, n)
        return family

    def _processes(self) -> list[Metric]:
        procs = select_processes(self._ctx.process_table.snapshot(), self._top_n,
                                 self._ctx.watched.keys())
        cpu = CounterMetricFamily(self._name(M.PROCESS_CPU_TIME, "s"),
                                  "CPU time of a top-N process, by mode",
                                  labels=(*PROCESS_LABELS, label_name(CPU_MODE)))
        gauges = {
            field: GaugeMetricFamily(self._name(name, unit), doc, labels=PROCESS_LABELS)
            for field, name, unit, doc in (
                ("rss_bytes", M.PROCESS_MEMORY_USAGE, "By", "Resident memory of a top-N process"),
                ("vms_bytes", M.PROCESS_MEMORY_VIRTUAL, "By", "Virtual memory of a top-N process"),
                ("fds", M.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT, "1",
                 "Open file descriptors of a top-N process"),
                ("fd_limit", FD_LIMIT, "1", "Soft RLIMIT_NOFILE of a top-N process"),
                ("threads", M.PROCESS_THREAD_COUNT, "1", "Threads of a top-N process"),
            )
        }
        for p in procs:
            s = p.last_sample
            labels = (str(p.pid), p.comm or s.comm, p.container_id)
            cpu.add_metric((*labels, "user"), s.cpu_user_ns * _NS)
            cpu.add_metric((*labels, "system"), s.cpu_system_ns * _NS)
            for field, family in gauges.items():
                family.add_metric(labels, getattr(s, field))
        return [cpu, *gauges.values()]


def build_registry(ctx: AgentContext, top_n: int = DEFAULT_TOP_N, namespace: str = "",
                   process_metrics: bool = True) -> CollectorRegistry:
    """A fresh registry holding only the agent's collector (serve it with prometheus-client)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(ctx, top_n, namespace, process_metrics))
    return registry
