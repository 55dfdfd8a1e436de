"""A grounded context for one alert: numbered facts the model may cite, nothing else.

Facts come from the alert's evidence, the subject process and its (bounded) subtree, its last
sample and its container. Command lines are redacted again here, defensively, although the
receiver already redacted them.
"""

from __future__ import annotations

from otel_linnix.component import AgentContext
from otel_linnix.records import Alert
from otel_linnix.redact import redact_argv

MAX_CHILDREN = 20
MAX_TEXT = 300


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def build_facts(alert: Alert, ctx: AgentContext) -> dict[str, str]:
    facts: list[str] = [f"alert rule {alert.rule} ({alert.severity}): {alert.message}"]
    for key, value in sorted(alert.evidence.items()):
        facts.append(f"evidence {key} = {_short(value)}")
    subject = alert.subject
    if subject.pid:
        proc = ctx.process_table.get(subject.pid)
        if proc is not None:
            facts.append(f"process {proc.pid} ({proc.comm}) runs {proc.exe or '?'} with argv "
                         f"{_short(' '.join(redact_argv(proc.argv)))}, parent pid {proc.ppid}, "
                         f"uid {proc.uid}")
            if proc.container_id:
                facts.append(f"process {proc.pid} is in container {proc.container_id[:12]}")
            s = proc.last_sample
            if s is not None:
                facts.append(f"process {proc.pid} last sample: cpu {(s.cpu_user_ns + s.cpu_system_ns) / 1e9:.1f}s, "
                             f"rss {s.rss_bytes >> 20} MiB, fds {s.fds}/{s.fd_limit}, "
                             f"threads {s.threads}")
            children = ctx.process_table.children(proc.pid)
            if children:
                names = sorted({c.comm for c in children})
                facts.append(f"process {proc.pid} has {len(children)} live children: "
                             f"{_short(', '.join(names[:MAX_CHILDREN]))}")
    return {f"f{i}": fact for i, fact in enumerate(facts, start=1)}
