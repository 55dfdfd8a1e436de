"""Config value types every component shares: durations, byte sizes, endpoints.

Each comes as a JSON Schema fragment (for validation and the ``components`` listing) plus a
parser that turns the validated value into seconds / bytes / (host, port).
"""

from __future__ import annotations

import re

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

#: A duration: "250ms", "1s", "5m", "1.5h", or a number of seconds.
DURATION = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "duration: 250ms, 1s, 5m, 1h or seconds as a number",
}

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
               "KB": 1000, "MB": 1000**2, "GB": 1000**3}

#: A byte size: "512MiB", "1GiB", "100MB" or a number of bytes.
SIZE = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|KB|MB|GB)?$"},
        {"type": "integer", "minimum": 0},
    ],
    "description": "byte size: 64MiB, 1GiB or bytes as an integer",
}

#: host:port (IPv6 in brackets), as the Collector writes endpoints.
HOST_PORT = {
    "type": "string",
    "pattern": r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$",
    "description": "host:port",
}


def parse_duration(value: str | float | int) -> float:
    """Seconds from a validated duration value."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION_RE.match(value.strip())
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 500ms, 1s, 5m)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_size(value: str | int) -> int:
    """Bytes from a validated size value."""
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value.strip())
    if not match:
        raise ValueError(f"not a size: {value!r} (use e.g. 64MiB, 1GiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise ValueError(f"not host:port: {value!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
