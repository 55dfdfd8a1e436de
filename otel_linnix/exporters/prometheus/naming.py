"""OTel-style dotted names and units → Prometheus metric and label names.

Follows the Prometheus conventions (and the OpenTelemetry Collector's translation): dots and
other invalid characters become ``_``, base-unit suffixes are appended (``s`` → ``_seconds``,
``By`` → ``_bytes``), annotations in braces (``{thread}``) and the dimensionless ``1`` add
nothing, and counters end in ``_total``. Names are computed once per metric and cached.
"""

from __future__ import annotations

import functools
import re

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")

#: OTel (UCUM) unit → Prometheus base-unit suffix.
_UNIT_SUFFIX = {
    "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "bit": "bits",
    "%": "percent", "Hz": "hertz",
}


@functools.lru_cache(maxsize=4096)
def metric_base_name(name: str, unit: str = "1", namespace: str = "") -> str:
    """Family name without the ``_total`` suffix (prometheus-client adds it for counters)."""
    base = _INVALID_NAME.sub("_", name)
    if namespace:
        base = f"{_INVALID_NAME.sub('_', namespace)}_{base}"
    if base[0].isdigit():
        base = "_" + base
    if base.endswith("_total"):
        base = base[: -len("_total")]
    suffix = _UNIT_SUFFIX.get(unit, "")
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    return base


@functools.lru_cache(maxsize=1024)
def label_name(key: str) -> str:
    """A valid Prometheus label name; names starting with ``__`` are reserved, so strip them."""
    out = _INVALID_LABEL.sub("_", key).lstrip("_") or "label"
    return "_" + out if out[0].isdigit() else out
