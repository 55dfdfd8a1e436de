"""Linnix's ``linnix.toml`` → the pipeline model, so existing Linnix installs keep their config.

Every section Linnix's daemon has read (its shipped configs/linnix.toml over its history, and
cognitod's config.rs) is known here. A key with an equivalent maps onto it; a key or section
with none (``mandate``, ``circuit_breaker``, ``privacy``, ...) becomes a one-line warning naming
it. A key or section Linnix never had is an error: a misspelt setting the user believes is
active must not pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otel_linnix.config.errors import ConfigError


@dataclass
class _Mapped:
    """The pipeline being assembled, and what could not be carried over."""

    receiver: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] | None = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)
    llm_enabled: bool = True
    api: dict[str, Any] = field(default_factory=dict)
    prometheus: dict[str, Any] | None = field(default_factory=dict)
    pressure: dict[str, Any] = field(default_factory=dict)
    offline: bool = False
    warnings: list[str] = field(default_factory=list)


Setter = Callable[[_Mapped, Any], None]


def _set(target: str, key: str, convert: Callable[[Any], Any] = lambda v: v) -> Setter:
    def apply(m: _Mapped, value: Any) -> None:
        getattr(m, target)[key] = convert(value)
    return apply


def _rules_enabled(m: _Mapped, value: Any) -> None:
    if not value:
        m.rules = None


def _rules_path(m: _Mapped, value: Any) -> None:
    """Linnix's ``path``; it wins over the older ``config_path`` whatever their order."""
    if m.rules is not None and value:
        m.rules["rules_file"] = value


def _rules_config_path(m: _Mapped, value: Any) -> None:
    if m.rules is not None and value:
        m.rules.setdefault("rules_file", value)


def _llm_enabled(m: _Mapped, value: Any) -> None:
    m.llm_enabled = bool(value)


def _offline(m: _Mapped, value: Any) -> None:
    m.offline = bool(value)


def _prometheus_enabled(m: _Mapped, value: Any) -> None:
    if not value:
        m.prometheus = None


def _metrics_addr(m: _Mapped, value: Any) -> None:
    if m.prometheus is not None:
        m.prometheus["endpoint"] = value


def _auth_token(m: _Mapped, value: Any) -> None:
    if value:  # LINNIX_API_TOKEN, when set, replaces it (from_linnix_toml), as in Linnix
        m.api["auth"] = {"token": str(value)}


def _seconds(value: Any) -> str:
    return f"{int(value)}s"


def _millis(value: Any) -> str:
    return f"{int(value)}ms"


NO_EQUIVALENT = "no equivalent in otel-linnix; ignored"
#: section → key → a setter, or the reason the key is ignored (a warning). ``"*"``: every key.
SECTIONS: dict[str, dict[str, Setter | str]] = {
    "api": {"listen_addr": _set("api", "endpoint"), "bind_address": _set("api", "endpoint"),
            "auth_token": _auth_token,
            "unix_socket": "the API listens on TCP only; ignored",
            "require_kernel_instrumentation": "the agent always needs its eBPF probes; ignored"},
    "runtime": {"offline": _offline,
                "cpu_target_pct": "the agent's cost is bounded by design, not by a target; "
                                  "ignored",
                "rss_cap_mb": "memory is bounded by the process table and queue caps; ignored",
                "events_rate_cap": "every event is kept (loss is counted, never sampled away); "
                                   "ignored"},
    "telemetry": {"sample_interval_ms": _set("receiver", "sample_interval", _millis),
                  "retention_seconds": "no time-windowed history here: exited processes "
                                       "live on as spans in the exporters; ignored",
                  "min_eps_to_enable": "samples are always forwarded; ignored"},
    "rules": {"enabled": _rules_enabled, "path": _rules_path,
              "config_path": _rules_config_path},
    "reasoner": {"enabled": _llm_enabled, "endpoint": _set("llm", "endpoint"),
                 "model": _set("llm", "model"), "timeout_ms": _set("llm", "timeout", _millis),
                 "window_seconds": "the LLM sees each alert's own evidence window; ignored",
                 "min_eps_to_enable": "alerts are explained whatever the event rate; ignored"},
    "llm": {"endpoint": _set("llm", "endpoint"), "model": _set("llm", "model"),
            "timeout_secs": _set("llm", "timeout", _seconds)},
    "prometheus": {"enabled": _prometheus_enabled},
    "outputs": {"prometheus": _prometheus_enabled, "metrics_listen_addr": _metrics_addr,
                "slack": "deliver alerts through Alertmanager (exporters.alertmanager) and its "
                         "receivers; ignored",
                "pagerduty": "deliver alerts through Alertmanager (exporters.alertmanager) and "
                             "its receivers; ignored"},
    "psi": {"sustained_pressure_seconds": _set("pressure", "min_duration", _seconds),
            "attribution_cooldown_seconds": _set("pressure", "cooldown", _seconds),
            "attribution_threshold_ms": "the pressure rule names the top users of the "
                                        "contended resource, with no per-offender floor; "
                                        "ignored"},
    "notifications": {"apprise": "otel-linnix delivers alerts through Alertmanager "
                                 "(exporters.alertmanager), whose receivers reach Slack, "
                                 "e-mail and the rest; ignored",
                      "slack": "otel-linnix delivers alerts through Alertmanager "
                               "(exporters.alertmanager: its slack_configs take this webhook); "
                               "ignored"},
    "probes": {"*": "probes are chosen by the agent (BTF from /sys/kernel/btf/vmlinux); "
                    "ignored"},
    "logging": {"*": "alerts and insights go to the logs pipeline's exporters (e.g. file); "
                     "ignored"},
    "circuit_breaker": {"*": "otel-linnix observes and never acts on processes; ignored"},
    "noise_budget": {"*": "alert noise is held down by hysteresis, cooldowns and the LLM "
                          "budget; ignored"},
    "privacy": {"*": "argv secrets are always redacted; ignored"},
    "mandate": {"*": "Linnix's enforcement mode has no equivalent (the agent only observes); "
                     "ignored"},
    "chain": {"*": NO_EQUIVALENT},
}


def _walk(doc: dict[str, Any], m: _Mapped) -> None:
    problems = []
    for section, value in doc.items():
        keys = SECTIONS.get(section)
        if keys is None:
            problems.append((section, f"unknown linnix.toml section (known: "
                                      f"{', '.join(SECTIONS)})"))
        elif not isinstance(value, dict):
            problems.append((section, "must be a table"))
        elif "*" in keys:
            m.warnings.append(f"linnix.toml [{section}]: {keys['*']}")
        else:
            for key, setting in value.items():
                handler = keys.get(key)
                if handler is None:
                    known = ", ".join(sorted(keys))
                    problems.append((f"{section}.{key}", f"unknown key (known: {known})"))
                elif isinstance(handler, str):
                    m.warnings.append(f"linnix.toml {section}.{key}: {handler}")
                else:
                    handler(m, setting)
    if problems:
        raise ConfigError(problems)


def from_linnix_toml(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The pipeline document a linnix.toml means, and a warning per setting ignored."""
    m = _Mapped()
    _walk(doc, m)
    if os.environ.get("LINNIX_API_TOKEN"):  # Linnix's token variable, preferred to the file's
        m.api["auth"] = {"token_env": "LINNIX_API_TOKEN"}
    processors: dict[str, Any] = {}
    chain: list[str] = []
    if m.rules is not None:
        if m.pressure:
            m.rules["overrides"] = {"pressure": m.pressure}
        processors["rules"] = m.rules
        chain.append("rules")
    if m.llm_enabled and m.llm.get("endpoint"):
        processors["llm_annotate"] = m.llm
    exporters: dict[str, Any] = {"debug": {}}
    metrics_exporters = ["debug"]
    if m.prometheus is not None:
        exporters["prometheus"] = m.prometheus
        metrics_exporters = ["prometheus"]
    logs_chain = chain + (["llm_annotate"] if "llm_annotate" in processors else [])
    raw = {
        "receivers": {"ebpf_process": m.receiver},
        "processors": processors,
        "exporters": exporters,
        "extensions": {"api": m.api},
        "service": {
            "offline": m.offline,
            "extensions": ["api"],
            "pipelines": {
                "traces": {"receivers": ["ebpf_process"], "processors": chain,
                           "exporters": ["debug"]},
                "metrics": {"receivers": ["ebpf_process"], "exporters": metrics_exporters},
                "logs": {"receivers": ["ebpf_process"], "processors": logs_chain,
                         "exporters": ["debug"]},
            },
        },
    }
    return raw, m.warnings
