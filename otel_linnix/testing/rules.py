"""Driving the rules processor with built or recorded records, as a receiver would."""

from __future__ import annotations

import logging
import tempfile

from otel_linnix.component import CreateSettings
from otel_linnix.config.types import parse_duration
from otel_linnix.processors.rules import FACTORY
from otel_linnix.receivers.ebpf_process import FACTORY as RECEIVER
from otel_linnix.receivers.ebpf_process.receiver import PUBLISH_SLICE_NS
from otel_linnix.records import Alert, time_slices
from otel_linnix.testing.builders import ProcessTreeBuilder, fold_brief

NS = 10**9
#: State directories made for processors that were given none (each test makes a few dozen).
_SCRATCH: list[tempfile.TemporaryDirectory] = []
POLL_NS = int(parse_duration(RECEIVER.defaults["poll_interval"]) * NS)  # the receiver's default


def make(ctx, rules_yaml: str | None = None, tmp_path=None, state_dir: str | None = None,
         rules_file: str = ""):
    """The rules processor on ``rules_yaml`` or ``rules_file`` (neither: the shipped rules);
    learned baselines go to ``state_dir`` (default: a fresh temporary directory, never the
    machine's state)."""
    path = rules_file
    if rules_yaml is not None:
        path = str(tmp_path / "rules.yaml")
        open(path, "w").write(rules_yaml)
    if state_dir is None:  # removed when the test process exits, not left behind in /tmp
        scratch = tempfile.TemporaryDirectory(prefix="otel-linnix-rules-")
        _SCRATCH.append(scratch)
        state_dir = scratch.name
    return FACTORY.create(CreateSettings("rules", ctx, logging.getLogger("rules")),
                          {"rules_file": path, "state_dir": state_dir})


def feed(proc, ctx, records, batch: int = 50, poll_ns: int = 0, fold: bool = False
         ) -> list[Alert]:
    """Apply to the table (as a receiver would) and process; returns the alerts made. Batches
    hold ``batch`` records, or with ``poll_ns`` what one receiver poll of that length drains,
    handed on in the receiver's slices; with ``fold``, each batch as the receiver's decoder
    folds it (``fold_brief``)."""
    alerts = []
    for chunk in (_polls(records, poll_ns) if poll_ns else
                  (records[i:i + batch] for i in range(0, len(records), batch))):
        if fold:
            chunk = fold_brief(chunk)
        ctx.process_table.apply(chunk)
        alerts += [r for r in proc.process(chunk) if isinstance(r, Alert)]
    return alerts


def storm(tree: ProcessTreeBuilder, parent: int, seconds: float, per_second: int,
          comm: str = "bomb") -> None:
    """Short-lived children at a steady rate: churn, the live count does not grow."""
    for _ in range(int(seconds * per_second)):
        tree.advance(NS // per_second)
        pid = tree.spawn(parent, comm=comm)
        tree.exit(pid)


def _polls(records, poll_ns: int):
    for drained in time_slices(records, poll_ns):
        yield from time_slices(drained, PUBLISH_SLICE_NS)
