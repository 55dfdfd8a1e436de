"""An alert as Alertmanager's v2 API takes it (``POST /api/v2/alerts``, a list of these).

Labels identify an alert to Alertmanager (grouping, silences, routing), so they hold only
bounded values: the rule, its severity, the host and the culprit's container, pod and
executable. Pids and command lines would make every alert a new series; they go into the
annotations, the command line redacted again here (a second line of defence).
"""

from __future__ import annotations

import datetime

from otel_linnix.host import HostInfo
from otel_linnix.records import Alert
from otel_linnix.redact import redact_argv

MAX_ANNOTATION = 4096


def iso(wall_ns: int) -> str:
    return datetime.datetime.fromtimestamp(wall_ns / 1e9, datetime.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def labels(alert: Alert, host: HostInfo, extra: dict[str, str]) -> dict[str, str]:
    subject = alert.subject
    out = {**extra, "alertname": alert.rule, "severity": alert.severity, "host": host.hostname}
    for name, value in (("container_id", subject.container_id[:12]), ("pod_uid", subject.pod_uid),
                        ("exe", subject.exe)):
        if value:
            out[name] = value
    return out


def annotation_map(alert: Alert, trace_id: bytes | None, span_id: bytes | None,
                trace_url: str) -> dict[str, str]:
    subject = alert.subject
    out = {"summary": alert.message, "description": alert.message}
    if subject.pid:
        out["pid"] = str(subject.pid)
    if subject.argv:
        out["command"] = " ".join(redact_argv(subject.argv))
    if subject.cgroup_path:
        out["cgroup"] = subject.cgroup_path
    explanation = (alert.annotation or {}).get("summary") or (alert.annotation or {}).get(
        "explanation")
    if explanation:
        out["explanation"] = str(explanation)
    if trace_id:
        out["trace_id"] = trace_id.hex()
        if span_id:
            out["span_id"] = span_id.hex()
        if trace_url:
            out["trace_url"] = trace_url.format(trace_id=trace_id.hex(),
                                                span_id=span_id.hex() if span_id else "")
    return {k: v[:MAX_ANNOTATION] for k, v in out.items()}


def alert_json(alert: Alert, host: HostInfo, extra_labels: dict[str, str], ends_ns: int,
               trace_id: bytes | None, span_id: bytes | None, trace_url: str) -> dict:
    """``ends_ns`` (wall clock): when a resolved alert ended, or how long a firing one holds
    without being re-posted."""
    return {"labels": labels(alert, host, extra_labels),
            "annotations": annotation_map(alert, trace_id, span_id, trace_url),
            "startsAt": iso(host.wall_ns(alert.first_seen_ns)), "endsAt": iso(ends_ns)}
