"""Config schema and defaults shared by the OTLP exporters (gRPC, HTTP, file)."""

from __future__ import annotations

import ipaddress
import os
import urllib.parse

from otel_linnix.config.types import DURATION, SIZE, parse_duration
from otel_linnix.statedir import default_state_dir

_TLS = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "insecure": {"type": "boolean", "description": "plaintext (no TLS)"},
        "ca_file": {"type": "string"}, "cert_file": {"type": "string"},
        "key_file": {"type": "string"},
    },
}


def default_spool_dir(component_id: str) -> str:
    return os.path.join(default_state_dir(), "spool", component_id.replace("/", "_"))


def schema(endpoint: dict, transport: bool = True) -> dict:
    props = {
        "sending_queue": {"type": "object", "additionalProperties": False,
                          "properties": {"queue_size": {"type": "integer", "minimum": 1}}},
        "batch": {"type": "object", "additionalProperties": False,
                  "properties": {"timeout": DURATION,
                                 "metrics_timeout": {**DURATION, "description":
                                     "how long a batch holding only metrics may wait for "
                                     "more (process samples come every sampling tick: one "
                                     "request per tick costs more than the samples); spans "
                                     "or logs send it after timeout"},
                                 "max_size": {"type": "integer", "minimum": 1,
                                              "description": "records per request at most"}}},
        "spool": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "directory": {"type": "string"}, "max_size": SIZE}},
        "logs": {"type": "object", "additionalProperties": False, "properties": {
            "exec_events": {"type": "boolean"}, "exit_events": {"type": "boolean"}}},
        "export_unfinished": {"type": "boolean", "description":
                              "export the processes receivers report still running (past "
                              "their unfinished_after, or at shutdown) as spans marked "
                              "otel_linnix.process.unfinished"},
    }
    props.update(endpoint)
    if transport:
        props.update({
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "tls": _TLS,
            "compression": {"enum": ["auto", "gzip", "none"], "description":
                            "auto: none to a loopback endpoint (compressing for a collector on "
                            "the same host only burns CPU), gzip otherwise"},
            "timeout": DURATION,
            "retry": {"type": "object", "additionalProperties": False, "properties": {
                "initial_interval": DURATION, "max_interval": DURATION,
                "max_elapsed_time": {**DURATION, "description":
                                     "without a spool: give a request up after retrying this "
                                     "long (with a spool it waits on disk instead)"}}},
        })
    return {"type": "object", "additionalProperties": False, "properties": props}


DEFAULTS = {
    "headers": {}, "tls": {"insecure": False}, "compression": "auto", "timeout": "10s",
    "retry": {"initial_interval": "1s", "max_interval": "30s", "max_elapsed_time": "300s"},
    "sending_queue": {"queue_size": 200000},
    "batch": {"timeout": "200ms", "metrics_timeout": "5s", "max_size": 8192},
    "spool": {"enabled": True, "directory": "", "max_size": "1GiB"},
    "logs": {"exec_events": False, "exit_events": False},
    "export_unfinished": True,
}

#: Settings the OTLP exporters had before the data they made moved to its owners.
MOVED = {"telemetry_interval": "service.telemetry.metrics.interval (the agent's own metrics "
                               "come from the service)",
         "unfinished_max_age": "unfinished_after on the receivers (ebpf_process, replay), "
                               "which report still-running processes"}


def finish(settings, config: dict) -> dict:
    """Fill what depends on the instance (spool directory) and parse the timeout once."""
    config = dict(config)
    config["spool"] = dict(config.get("spool", {}))
    if not config["spool"].get("directory"):
        config["spool"]["directory"] = default_spool_dir(settings.id)
    config["timeout_s"] = parse_duration(config.get("timeout", "10s"))
    if config.get("compression") == "auto":
        config["compression"] = "none" if is_loopback(config.get("endpoint", "")) else "gzip"
    return config


def is_loopback(endpoint: str) -> bool:
    """Whether an OTLP endpoint (``host:port`` or a URL) names this host's loopback."""
    host = urllib.parse.urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
