"""Type name → factory. Adding a component is one folder plus one line here.

Factories are imported lazily, so a component whose optional dependency is missing (bcc on a
machine without python3-bpfcc) only fails when a config actually names it.
"""

from __future__ import annotations

import importlib

from otel_linnix.component import Factory, Kind

#: kind → type name → module that defines ``FACTORY``.
_MODULES: dict[Kind, dict[str, str]] = {
    Kind.RECEIVER: {
        "ebpf_process": "otel_linnix.receivers.ebpf_process",
        "replay": "otel_linnix.receivers.replay",
    },
    Kind.PROCESSOR: {
        "rules": "otel_linnix.processors.rules",
        "llm_annotate": "otel_linnix.processors.llm_annotate",
    },
    Kind.EXPORTER: {
        "otlp": "otel_linnix.exporters.otlp",
        "otlphttp": "otel_linnix.exporters.otlphttp",
        "prometheus": "otel_linnix.exporters.prometheus",
        "file": "otel_linnix.exporters.file",
        "debug": "otel_linnix.exporters.debug",
        "alertmanager": "otel_linnix.exporters.alertmanager",
    },
    Kind.EXTENSION: {
        "api": "otel_linnix.api",
    },
}


class UnknownComponentError(KeyError):
    pass


def type_of(component_id: str) -> str:
    """``otlp/backup`` → ``otlp`` (named instances, as in the Collector)."""
    return component_id.split("/", 1)[0]


def types(kind: Kind) -> list[str]:
    return sorted(_MODULES[kind])


def get_factory(kind: Kind, type_name: str) -> Factory:
    module_name = _MODULES[kind].get(type_name)
    if module_name is None:
        known = ", ".join(types(kind))
        raise UnknownComponentError(f"unknown {kind.value[:-1]} type {type_name!r} (known: {known})")
    module = importlib.import_module(module_name)
    factory: Factory | None = getattr(module, "FACTORY", None)
    if factory is None:
        raise ImportError(f"{module_name} defines no FACTORY")
    if factory.type != type_name or factory.kind != kind:
        raise RuntimeError(f"{module_name}.FACTORY is {factory.kind.value}/{factory.type}")
    return factory
