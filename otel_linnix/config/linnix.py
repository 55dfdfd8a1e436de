"""Linnix's ``linnix.toml`` → the pipeline model, so existing Linnix installs keep their config.

Mapped keys: runtime.offline, telemetry.sample_interval_ms, rules.enabled / rules.path / rules.config_path
(a Linnix rules.yaml or rules.toml maps onto rules: see processors/rules/linnixrules),
api.bind_address, llm.endpoint / llm.model / llm.timeout_secs. Anything else is an error naming
the key: silently ignoring a setting the user believes is active would be worse.
"""

from __future__ import annotations

from typing import Any

from otel_linnix.config.errors import ConfigError

_KNOWN = {
    "runtime": {"offline"},
    "telemetry": {"sample_interval_ms"},
    "rules": {"enabled", "config_path", "path"},
    "api": {"bind_address"},
    "llm": {"endpoint", "model", "timeout_secs"},
}


def _check_keys(doc: dict[str, Any]) -> None:
    problems = []
    for section, value in doc.items():
        if section not in _KNOWN:
            problems.append((section, f"unknown linnix.toml section (known: {', '.join(_KNOWN)})"))
        elif not isinstance(value, dict):
            problems.append((section, "must be a table"))
        else:
            for key in value:
                if key not in _KNOWN[section]:
                    known = ", ".join(sorted(_KNOWN[section]))
                    problems.append((f"{section}.{key}", f"unknown key (known: {known})"))
    if problems:
        raise ConfigError(problems)


def from_linnix_toml(doc: dict[str, Any]) -> dict[str, Any]:
    _check_keys(doc)
    runtime, telemetry = doc.get("runtime", {}), doc.get("telemetry", {})
    rules, api, llm = doc.get("rules", {}), doc.get("api", {}), doc.get("llm", {})

    receiver: dict[str, Any] = {}
    if "sample_interval_ms" in telemetry:
        receiver["sample_interval"] = f"{telemetry['sample_interval_ms']}ms"
    processors: dict[str, Any] = {}
    chain: list[str] = []
    if rules.get("enabled", True):
        path = rules.get("path", rules.get("config_path"))  # Linnix's newer key, then the older
        processors["rules"] = {"rules_file": path} if path else {}
        chain.append("rules")
    if llm.get("endpoint"):
        llm_cfg: dict[str, Any] = {"endpoint": llm["endpoint"]}
        if "model" in llm:
            llm_cfg["model"] = llm["model"]
        if "timeout_secs" in llm:
            llm_cfg["timeout"] = llm["timeout_secs"]
        processors["llm_annotate"] = llm_cfg
    api_cfg = {"endpoint": api["bind_address"]} if "bind_address" in api else {}

    logs_chain = chain + (["llm_annotate"] if "llm_annotate" in processors else [])
    return {
        "receivers": {"ebpf_process": receiver},
        "processors": processors,
        "exporters": {"debug": {}, "prometheus": {}},
        "extensions": {"api": api_cfg},
        "service": {
            "offline": bool(runtime.get("offline", False)),
            "extensions": ["api"],
            "pipelines": {
                "traces": {"receivers": ["ebpf_process"], "processors": chain,
                           "exporters": ["debug"]},
                "metrics": {"receivers": ["ebpf_process"], "exporters": ["prometheus"]},
                "logs": {"receivers": ["ebpf_process"], "processors": logs_chain,
                         "exporters": ["debug"]},
            },
        },
    }
