"""W3C Trace Context as it reaches a process through its environment (``TRACEPARENT``).

The OpenTelemetry specification's "environment variables as context propagation carriers"
names ``TRACEPARENT`` / ``TRACESTATE`` with the W3C formats; BuildKit, CI runners with OTel
tracing, ``otel-cli exec`` and SDKs' subprocess helpers set them. The kernel side copies the
raw values; they are checked here before anything trusts them: ids as lowercase hex of the
right length, neither all zeros, version ``ff`` never valid, version ``00`` exactly 55
characters (a later version may append fields after a ``-``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\Z",
                          re.DOTALL)
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
#: tracestate: list-members of key=value separated by commas (W3C: at most 32, 512 chars).
_TRACESTATE = re.compile(r"[\x20-\x7e]{0,512}\Z")
SAMPLED = 0x01


class TraceParent(NamedTuple):
    trace_id: str  # 32 lowercase hex
    parent_id: str  # 16 lowercase hex
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)


def parse_traceparent(value: str) -> TraceParent | None:
    """The context a ``TRACEPARENT`` value carries, or None when it is malformed."""
    m = _TRACEPARENT.match(value)
    if m is None:
        return None
    version, trace_id, parent_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, parent_id, int(flags, 16))


def clean_tracestate(value: str) -> str:
    """``TRACESTATE`` passed on as the spans' ``trace_state``, or "" when it is not printable
    ASCII within the W3C length (a cut value from the kernel's bounded copy included)."""
    return value if _TRACESTATE.match(value) and len(value) < 255 else ""
