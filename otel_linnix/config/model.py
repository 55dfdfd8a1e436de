"""From a raw config document to a checked ``Config``: components with their final settings and
the pipelines that wire them. Every problem found is reported at once, each naming its path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from otel_linnix import registry
from otel_linnix.component import Factory, Kind, Signal
from otel_linnix.config.errors import ConfigError, format_path
from otel_linnix.config.schema import SERVICE_DEFAULTS, TOP_SCHEMA, check, deep_merge

_ID = re.compile(r"^[a-z][a-z0-9_]*(/[A-Za-z0-9_.\-]+)?$")
_PIPELINE_NAME = re.compile(r"^(traces|metrics|logs)(/[A-Za-z0-9_.\-]+)?$")


@dataclass(frozen=True)
class ComponentSpec:
    kind: Kind
    id: str
    factory: Factory
    config: dict[str, Any]


@dataclass(frozen=True)
class Pipeline:
    name: str
    signal: Signal
    receivers: tuple[str, ...]
    processors: tuple[str, ...]
    exporters: tuple[str, ...]


@dataclass
class Config:
    components: dict[tuple[Kind, str], ComponentSpec]
    pipelines: list[Pipeline]
    extensions: list[str]
    service: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def spec(self, kind: Kind, component_id: str) -> ComponentSpec:
        return self.components[(kind, component_id)]


def _build_component(kind: Kind, cid: str, raw: Any, problems: list, warnings: list
                     ) -> ComponentSpec | None:
    path = (kind.value, cid)
    if not _ID.match(cid):
        problems.append((format_path(path), "component ids are type or type/name, "
                                            "lower-case type (e.g. otlp/backup)"))
        return None
    try:
        factory = registry.get_factory(kind, registry.type_of(cid))
    except registry.UnknownComponentError as exc:
        problems.append((format_path(path), exc.args[0]))
        return None
    except ImportError as exc:
        problems.append((format_path(path), f"component unavailable on this install: {exc}"))
        return None
    raw = _without_moved(factory, path, raw or {}, warnings)
    config = deep_merge(factory.defaults, raw)
    found = check(config, factory.schema, path)
    if not found and factory.validate is not None:
        try:
            factory.validate(config)
        except ValueError as exc:
            found = [(format_path(path), str(exc))]
    problems.extend(found)
    return ComponentSpec(kind, cid, factory, config) if not found else None


def _without_moved(factory, path: tuple, raw: Any, warnings: list) -> Any:
    if not isinstance(raw, dict) or not factory.moved.keys() & raw.keys():
        return raw
    for key in sorted(factory.moved.keys() & raw.keys()):
        warnings.append(f"{format_path(path + (key,))}: no longer a setting of "
                        f"{factory.type}, ignored: it is now {factory.moved[key]}")
    return {k: v for k, v in raw.items() if k not in factory.moved}


def _check_pipeline(name: str, spec: dict, components: dict, defined: dict, problems: list,
                    ) -> Pipeline | None:
    path = ("service", "pipelines", name)
    match = _PIPELINE_NAME.match(name)
    if not match:
        problems.append((format_path(path), "pipeline names are traces, metrics or logs, "
                                            "optionally /name (e.g. traces/backup)"))
        return None
    signal = Signal(match.group(1))
    lists = {}
    for kind, key in ((Kind.RECEIVER, "receivers"), (Kind.PROCESSOR, "processors"),
                      (Kind.EXPORTER, "exporters")):
        ids = spec.get(key, [])
        lists[key] = tuple(ids)
        for i, cid in enumerate(ids):
            where = format_path(path + (key, i))
            if cid not in defined[kind]:
                problems.append((where, f"{kind.value[:-1]} {cid!r} is not defined "
                                        f"in {kind.value}"))
            elif (kind, cid) in components and kind != Kind.PROCESSOR:
                factory = components[(kind, cid)].factory
                if signal not in factory.signals:
                    can = ", ".join(sorted(s.value for s in factory.signals))
                    problems.append((where, f"{cid!r} cannot {'feed' if kind == Kind.RECEIVER else 'ship'} "
                                            f"{signal.value} (it supports: {can})"))
        if len(set(ids)) != len(ids):
            problems.append((format_path(path + (key,)), "lists a component twice"))
    return Pipeline(name, signal, lists["receivers"], lists["processors"], lists["exporters"])


def build(raw: dict[str, Any]) -> Config:
    """Validate the whole document; raises ConfigError listing every problem."""
    problems = check(raw, TOP_SCHEMA)
    if problems:
        raise ConfigError(problems)
    components: dict[tuple[Kind, str], ComponentSpec] = {}
    defined: dict[Kind, set[str]] = {}
    warnings: list[str] = []
    for kind in Kind:
        section = raw.get(kind.value) or {}
        defined[kind] = set(section)
        for cid, value in section.items():
            built = _build_component(kind, cid, value, problems, warnings)
            if built is not None:
                components[(kind, cid)] = built
    service = deep_merge(SERVICE_DEFAULTS, raw["service"])
    pipelines = [p for name, spec in service["pipelines"].items()
                 if (p := _check_pipeline(name, spec, components, defined, problems))]
    extensions = list(service.get("extensions", []))
    for i, ext in enumerate(extensions):
        if ext not in defined[Kind.EXTENSION]:
            problems.append((f"service.extensions[{i}]", f"extension {ext!r} is not defined "
                                                          "in extensions"))
    if problems:
        raise ConfigError(problems)
    return Config(components, pipelines, extensions, service,
                  warnings + _unused(components, pipelines, extensions))


def _unused(components, pipelines, extensions) -> list[str]:
    used = {(Kind.EXTENSION, e) for e in extensions}
    for p in pipelines:
        used |= {(Kind.RECEIVER, c) for c in p.receivers}
        used |= {(Kind.PROCESSOR, c) for c in p.processors}
        used |= {(Kind.EXPORTER, c) for c in p.exporters}
    return [f"{kind.value}.{cid}: defined but not used by any pipeline"
            for kind, cid in components if (kind, cid) not in used]
