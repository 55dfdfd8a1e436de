"""Alerts (and, optionally, exec / exit events) → OTLP log records.

An alert about a process carries that process's trace and span ids, so a backend links the
alert to the lifetime span it is about.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber
from opentelemetry.semconv._incubating.attributes import process_attributes as P

from otel_linnix.exporters.otlpcommon.ids import span_id
from otel_linnix.exporters.otlpcommon.resource import kv
from otel_linnix.host import HostInfo
from otel_linnix.records import Alert, ProcessExec, ProcessExit, process_key

_SEVERITY = {"info": (SeverityNumber.SEVERITY_NUMBER_INFO, "INFO"),
             "warning": (SeverityNumber.SEVERITY_NUMBER_WARN, "WARN"),
             "critical": (SeverityNumber.SEVERITY_NUMBER_ERROR, "ERROR")}


def culprit_attributes(subject) -> dict:
    """The culprit's image, command line (already redacted and bounded) and cgroup."""
    attrs: dict = {}
    if subject.exe:
        attrs[P.PROCESS_EXECUTABLE_PATH] = subject.exe
    if subject.argv:
        attrs[P.PROCESS_COMMAND_ARGS] = list(subject.argv)
    if subject.cgroup_path:
        attrs["otel_linnix.process.cgroup"] = subject.cgroup_path
    return attrs


def alert_log(alert: Alert, host: HostInfo, trace: bytes | None) -> LogRecord:
    number, text = _SEVERITY.get(alert.severity, _SEVERITY["warning"])
    attrs: dict[str, Any] = {
        "otel_linnix.alert.id": alert.id, "otel_linnix.alert.rule": alert.rule,
        "otel_linnix.alert.severity": alert.severity, "otel_linnix.alert.state": alert.state,
        "otel_linnix.alert.evidence": json.dumps(alert.evidence, default=str, sort_keys=True),
        "event.name": "otel_linnix.alert",
    }
    subject = alert.subject
    if subject.pid:
        attrs[P.PROCESS_PID] = subject.pid
        if subject.comm:
            attrs[P.PROCESS_EXECUTABLE_NAME] = subject.comm
        if subject.container_id:
            attrs["container.id"] = subject.container_id
        attrs.update(culprit_attributes(subject))
    if alert.annotation:
        attrs["otel_linnix.alert.annotation"] = json.dumps(alert.annotation, default=str)
        if alert.annotation.get("summary"):
            attrs["otel_linnix.alert.explanation"] = str(alert.annotation["summary"])
    record = LogRecord(time_unix_nano=host.wall_ns(alert.last_seen_ns),
                       observed_time_unix_nano=host.wall_ns(alert.last_seen_ns),
                       severity_number=number, severity_text=text,
                       body=AnyValue(string_value=alert.message),
                       attributes=[kv(k, v) for k, v in attrs.items()])
    if subject.pid and subject.start_ns and trace:
        record.trace_id = trace
        record.span_id = span_id(host.boot_id, process_key(subject.pid, subject.start_ns))
    return record


def process_log(rec: ProcessExec | ProcessExit, host: HostInfo) -> LogRecord:
    if type(rec) is ProcessExec:
        body, ts = f"exec {rec.exe}", rec.ts_ns
        attrs = {P.PROCESS_PID: rec.pid, P.PROCESS_EXECUTABLE_PATH: rec.exe,
                 P.PROCESS_COMMAND_ARGS: list(rec.argv), "event.name": "process.exec"}
    else:
        body, ts = f"exit {rec.comm}", rec.exit_ns
        attrs = {P.PROCESS_PID: rec.pid, P.PROCESS_EXIT_CODE: rec.exit_code,
                 "otel_linnix.process.signal": rec.signal, "event.name": "process.exit"}
    return LogRecord(time_unix_nano=host.wall_ns(ts), severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
                     severity_text="INFO", body=AnyValue(string_value=body),
                     attributes=[kv(k, v) for k, v in attrs.items()])
