"""OTLP spans written as protobuf bytes directly: the hot path's encoder.

Building a ``Span`` message field by field through the protobuf runtime and serializing it cost
about half of the agent's CPU per process lifetime. A lifetime's span is a fixed shape, and most
of its attribute values repeat across thousands of processes (the same executable, argv, cgroup,
user), so here each attribute is encoded once and kept in a bounded cache, and a span is the
concatenation of a few ready pieces. The field numbers are those of
``opentelemetry/proto/trace/v1/trace.proto`` and ``common/v1/common.proto``;
tests/exporters/otlp/test_wire.py parses every shape back with opentelemetry-proto and compares
it field by field with the message the library builds from the same values.
"""

from __future__ import annotations

import struct

_FIXED64 = struct.Struct("<Q").pack
_SMALL = [bytes((n,)) for n in range(128)]

# tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited)
_SPAN_TRACE_ID, _SPAN_ID, _SPAN_PARENT_ID = b"\x0a\x10", b"\x12\x08", b"\x22\x08"
_SPAN_TRACE_STATE = b"\x1a"
_SPAN_NAME, _SPAN_KIND, _SPAN_START, _SPAN_END = b"\x2a", b"\x30", b"\x39", b"\x41"
_SPAN_ATTR, _SPAN_EVENT, _SPAN_STATUS = b"\x4a", b"\x5a", b"\x7a"
_EVENT_TIME, _EVENT_NAME, _EVENT_ATTR = b"\x09", b"\x12", b"\x1a"
_KV_KEY, _KV_VALUE = b"\x0a", b"\x12"
_ANY_STRING, _ANY_BOOL, _ANY_INT, _ANY_ARRAY = b"\x0a", b"\x10", b"\x18", b"\x2a"
_ARRAY_VALUE = b"\x0a"
_STATUS_MESSAGE, _STATUS_CODE = b"\x12", b"\x18"
_REQUEST_RESOURCE_SPANS, _RS_RESOURCE, _RS_SCOPE_SPANS = b"\x0a", b"\x0a", b"\x12"
_SS_SCOPE, _SS_SPAN = b"\x0a", b"\x12"

SPAN_KIND_INTERNAL = 1
STATUS_CODE_ERROR = 2


def varint(n: int) -> bytes:
    """Protobuf base-128 varint; negative int64 values take ten bytes, as the spec says."""
    if 0 <= n < 128:
        return _SMALL[n]
    if 0 < n < 2_097_152:  # pids, lengths: two or three bytes, spelled out
        if n < 16_384:
            return bytes((n & 0x7F | 0x80, n >> 7))
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, n >> 14))
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _string(value: str) -> bytes:
    return delimited(_ANY_STRING, value.encode("utf-8", "surrogatepass"))


def any_value(value) -> bytes:
    """An AnyValue for str / bool / int / list-or-tuple of str (what process spans carry)."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is bool:
        return _ANY_BOOL + (b"\x01" if value else b"\x00")
    if kind is int:
        return _ANY_INT + varint(value)
    if kind is tuple or kind is list:
        items = b"".join(delimited(_ARRAY_VALUE, _string(str(v))) for v in value)
        return delimited(_ANY_ARRAY, items)
    return _string(str(value))


def key_value(key: str, value) -> bytes:
    """One KeyValue message (without the tag of the field that holds it)."""
    return delimited(_KV_KEY, key.encode()) + delimited(_KV_VALUE, any_value(value))


class AttrEncoder:
    """A span attribute (field 9 of Span, tag included) per (key, value), string and tuple
    values encoded once.

    Bounded: each key keeps at most ``max_per_key`` values and starts over when full (a
    cache miss only costs an encode).
    """

    def __init__(self, max_per_key: int = 4096) -> None:
        self._max = max_per_key
        self._cache: dict[str, dict] = {}
        #: (key prefix, varint length) → the int attribute's bytes before the value: a
        #: handful of keys, at most ten lengths each.
        self._int_heads: dict[tuple[bytes, int], bytes] = {}

    def __call__(self, key: str, value) -> bytes:
        kind = type(value)
        if kind is not str and kind is not tuple:  # numbers are cheap, and 1 == True as a key
            return delimited(_SPAN_ATTR, key_value(key, value))
        values = self._cache.get(key)
        if values is None:
            values = self._cache[key] = {}
        found = values.get(value)
        if found is None:
            if len(values) >= self._max:
                values.clear()
            found = values[value] = delimited(_SPAN_ATTR, key_value(key, value))
        return found

    def int(self, key_prefix: bytes, value: int) -> bytes:
        """An int attribute whose key part (``int_prefix``) is ready: pids never repeat, but
        everything before the value's varint depends only on the key and the varint's length."""
        v = varint(value)
        head = self._int_heads.get((key_prefix, len(v)))
        if head is None:
            kv_len = len(key_prefix) + 2 + len(v)  # + AnyValue's length byte and tag (< 128)
            head = self._int_heads[key_prefix, len(v)] = b"".join((
                _SPAN_ATTR, varint(kv_len), key_prefix, _SMALL[1 + len(v)], _ANY_INT))
        return head + v


def int_prefix(key: str) -> bytes:
    """The constant head of an int KeyValue: its key and the value field's tag."""
    return delimited(_KV_KEY, key.encode()) + _KV_VALUE


def event(time_unix_nano: int, name: str, attrs: dict) -> bytes:
    """A Span.Event, as the Span's field 11 (tag included)."""
    return timed_event(time_unix_nano, event_parts(name, attrs))


def event_parts(name: str, attrs: dict) -> bytes:
    """A Span.Event's name and attributes: what events of one kind and subject share (an
    exec event of one executable), to be encoded once and timed with ``timed_event``."""
    return delimited(_EVENT_NAME, name.encode()) + b"".join(
        delimited(_EVENT_ATTR, key_value(k, v)) for k, v in attrs.items())


def timed_event(time_unix_nano: int, parts: bytes) -> bytes:
    body = _EVENT_TIME + _FIXED64(time_unix_nano) + parts
    return _SPAN_EVENT + varint(len(body)) + body


def error_status(message: str) -> bytes:
    """A Status with code ERROR and ``message``, as the Span's field 15 (tag included)."""
    status = delimited(_STATUS_MESSAGE, message.encode()) + _STATUS_CODE + \
        _SMALL[STATUS_CODE_ERROR]
    return delimited(_SPAN_STATUS, status)


#: kind INTERNAL, start and end time: the fixed-size middle of every span, packed in one call.
_KIND_TIMES = struct.Struct("<BBBQBQ")
_KIND_TIMES_PACK = _KIND_TIMES.pack


#: The bytes of a span's trace id and span id fields, and of its kind and times.
_IDS_LEN, _PARENT_LEN = 2 + 16 + 2 + 8, 2 + 8
_FIXED_LEN = _IDS_LEN + _KIND_TIMES.size


def span_field(trace_id: bytes, span_id: bytes, parent_span_id: bytes | None, name: bytes,
               start: int, end: int, body: bytes, trace_state: str = "") -> bytes:
    """One Span message, kind INTERNAL, as the ``spans`` field of a ScopeSpans (its tag and
    length before it: the request is then one join of ready fields). ``name`` is a ready
    name field (``span_name_field``); ``body`` the ready attribute, event and status fields
    (``AttrEncoder``, ``event``, ``error_status``) in that order, joined."""
    middle = _KIND_TIMES_PACK(_SPAN_KIND[0], SPAN_KIND_INTERNAL, _SPAN_START[0], start,
                              _SPAN_END[0], end)
    if trace_state:
        state = delimited(_SPAN_TRACE_STATE, trace_state.encode())
        size = _FIXED_LEN + len(state) + (_PARENT_LEN if parent_span_id else 0) + len(name) \
            + len(body)
        return b"".join((_SS_SPAN, varint(size), _SPAN_TRACE_ID, trace_id, _SPAN_ID, span_id,
                         state, _SPAN_PARENT_ID if parent_span_id else b"",
                         parent_span_id or b"", name, middle, body))
    if parent_span_id:
        return b"".join((_SS_SPAN, varint(_FIXED_LEN + _PARENT_LEN + len(name) + len(body)),
                         _SPAN_TRACE_ID, trace_id, _SPAN_ID, span_id, _SPAN_PARENT_ID,
                         parent_span_id, name, middle, body))
    return b"".join((_SS_SPAN, varint(_FIXED_LEN + len(name) + len(body)), _SPAN_TRACE_ID,
                     trace_id, _SPAN_ID, span_id, name, middle, body))


def span_name_field(name: str) -> bytes:
    return delimited(_SPAN_NAME, name.encode("utf-8", "surrogatepass"))


def trace_request(groups: list[tuple[bytes, list[bytes]]], scope: bytes) -> bytes:
    """An ExportTraceServiceRequest with one ResourceSpans / ScopeSpans per (resource, span
    fields) group (``resource`` and ``scope`` are serialized Resource / InstrumentationScope,
    the spans ``span_field``'s).

    Lengths are summed first and every part joined once at the end: nesting each level with
    ``tag + length + payload`` copied the whole request at every level, about a third of the
    cost of building a fork storm's spans."""
    parts: list[bytes] = []
    scope_field = delimited(_SS_SCOPE, scope)
    for resource, spans in groups:
        scope_spans_len = len(scope_field) + sum(map(len, spans))
        scope_spans_head = _RS_SCOPE_SPANS + varint(scope_spans_len)
        resource_field = delimited(_RS_RESOURCE, resource)
        resource_spans_len = len(resource_field) + len(scope_spans_head) + scope_spans_len
        parts += (_REQUEST_RESOURCE_SPANS, varint(resource_spans_len), resource_field,
                  scope_spans_head, scope_field)
        parts += spans
    return b"".join(parts)
