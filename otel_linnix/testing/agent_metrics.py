"""What metric names does the agent really export? Derived by running the components.

Builds the agent a pipeline describes with the real service (components and pipeline wiring,
each with the pipeline's own config; nothing is started, so no BPF is loaded and nothing is
sent), fills the
process table with sampled processes, pushes a process tree through the processors and the
Prometheus exporter, then scrapes ``build_registry``. Dashboards are checked against this set
rather than against a hand-written list.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix.component import Component, Exporter, Processor, Signal
from otel_linnix.config import build
from otel_linnix.config.expand import expand
from otel_linnix.exporters.prometheus.collector import build_registry
from otel_linnix.records import ProcessSample, ProcessStart
from otel_linnix.registry import type_of
from otel_linnix.service import Service
from otel_linnix.testing.builders import random_tree
from otel_linnix.testing.sinks import test_context


def build_components(pipeline: dict[str, Any], ctx, spool_dir: str) -> dict[str, Component]:
    """Create (not start) the agent for ``pipeline`` through the real service wiring.

    Extensions are left out: they only serve (the API) and export no metrics of their own.
    """
    pipeline = expand(copy.deepcopy(pipeline), env={})  # ${env:X:-default} → default
    pipeline.pop("extensions", None)
    pipeline.get("service", {}).pop("extensions", None)
    for cid, conf in (pipeline.get("exporters") or {}).items():
        if type_of(cid) in ("otlp", "otlphttp"):
            conf = conf if conf is not None else {}
            conf["spool"] = {**conf.get("spool", {}), "directory": f"{spool_dir}/{cid}"}
            pipeline["exporters"][cid] = conf
    service = Service(build(pipeline), context=ctx)
    service.build()
    return {f"{kind.value}.{cid}": comp for (kind, cid), comp in service.components.items()}


def exported_metric_names(pipeline: dict[str, Any], spool_dir: str) -> set[str]:
    """Every metric and sample name a scrape shows for an agent running ``pipeline``."""
    ctx = test_context()
    components = build_components(pipeline, ctx, spool_dir)
    records = random_tree(50)
    starts = [r for r in records if type(r) is ProcessStart]
    ctx.process_table.apply(starts)
    ctx.process_table.apply([
        ProcessSample(r.pid, r.start_ns, r.start_ns + 10**9, 10**7 * i, 10**6, 2**20 * (i + 1),
                      2**22, 1, 3 + i, 1024, r.comm) for i, r in enumerate(starts)])
    for key, comp in components.items():
        if key.startswith("processors."):
            cast(Processor, comp).process(list(records))
        elif key.startswith("exporters.") and type_of(key.split(".", 1)[1]) == "prometheus":
            cast(Exporter, comp).consume(Signal.METRICS, records)
    text = generate_latest(build_registry(ctx)).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names
