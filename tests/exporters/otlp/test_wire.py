"""The hand encoder against opentelemetry-proto: every shape it writes parses back to the very
message the protobuf library builds from the same values."""

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from otel_linnix.exporters.otlpcommon import wire
from otel_linnix.exporters.otlpcommon.resource import kv

VALUES = [0, 1, 127, 128, 300, 2**31, 2**63 - 1, -1, -(2**63), True, False, "", "sh",
          "ünïcødé ✓", "x" * 300, ("bash", "-c", "echo hi"), (), ["a", ""]]


def library_span(trace_id, span_id, parent, name, start, end, attrs, events=(), error=None):
    span = Span(trace_id=trace_id, span_id=span_id, name=name, kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start, end_time_unix_nano=end,
                attributes=[kv(k, v) for k, v in attrs])
    if parent:
        span.parent_span_id = parent
    for ts, ev_name, ev_attrs in events:
        span.events.add(time_unix_nano=ts, name=ev_name,
                        attributes=[kv(k, v) for k, v in ev_attrs.items()])
    if error is not None:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
    return span


def parsed_span(field: bytes) -> Span:
    """The one span of a ``span_field``: the field alone is a valid ScopeSpans message."""
    scope_spans = ScopeSpans.FromString(field)
    assert len(scope_spans.spans) == 1 and not scope_spans.HasField("scope")
    return scope_spans.spans[0]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_each_attribute_value_parses_back_equal(value):
    encoded = wire.span_field(b"t" * 16, b"s" * 8, None, wire.span_name_field("n"), 1, 2,
                        wire.AttrEncoder()("k", value))
    assert parsed_span(encoded) == library_span(b"t" * 16, b"s" * 8, None, "n", 1, 2,
                                                    [("k", value)])


def test_int_prefix_path_equals_the_generic_one():
    enc = wire.AttrEncoder()
    prefix = wire.int_prefix("process.pid")
    for pid in (0, 1, 127, 128, 16_383, 16_384, 16_385, 99_999, 2_097_151, 2_097_152,
                4_194_304, 2**40, 1, 128, 16_384):
        assert enc.int(prefix, pid) == enc("process.pid", pid)


@pytest.mark.parametrize("parent", [None, b"\x03" * 8])
def test_a_span_in_an_application_trace_carries_its_trace_state(parent):
    encoded = wire.span_field(b"\x01" * 16, b"\x02" * 8, parent, wire.span_name_field("sh"), 5, 2**63,
                        b"", "vendor=a,other=b")
    expected = library_span(b"\x01" * 16, b"\x02" * 8, parent, "sh", 5, 2**63, [])
    expected.trace_state = "vendor=a,other=b"
    assert parsed_span(encoded) == expected


def test_full_span_with_parent_events_and_error_status():
    attrs = [("process.pid", 4242), ("process.parent_pid", 1), ("process.executable.name", "ls"),
             ("process.command_args", ("ls", "-l", "--password=***")), ("x.bool", True)]
    events = [(10**18 + 5, "exec", {"process.executable.path": "/bin/ls"}),
              (10**18 + 9, "alert", {"otel_linnix.alert.rule": "r", "n": 3})]
    enc = wire.AttrEncoder()
    body = b"".join([enc(k, v) for k, v in attrs] + [wire.event(ts, n, a) for ts, n, a in events])
    encoded = wire.span_field(b"\x01" * 16, b"\x02" * 8, b"\x03" * 8, wire.span_name_field("ls"),
                        10**18, 10**18 + 10**9, body + wire.error_status("exit code 3"))
    expected = library_span(b"\x01" * 16, b"\x02" * 8, b"\x03" * 8, "ls", 10**18,
                            10**18 + 10**9, attrs, events, "exit code 3")
    parsed = parsed_span(encoded)
    assert parsed == expected
    for field in Span.DESCRIPTOR.fields:  # field by field, so a mismatch names the field
        assert getattr(parsed, field.name) == getattr(expected, field.name), field.name


def test_request_wraps_resource_scope_and_every_span():
    def field(span):  # a ScopeSpans.spans field, as ``span_field`` writes one
        return wire.delimited(b"\x12", span.SerializeToString())

    resource = Resource(attributes=[kv("service.name", "otel-linnix"), kv("host.name", "h")])
    scope = InstrumentationScope(name="otel-linnix", version="1.2.3")
    spans = [library_span(bytes([i]) * 16, bytes([i + 1]) * 8, None, f"p{i}", i, i + 1,
                          [("process.pid", i)]) for i in range(1, 200)]
    pod = Resource(attributes=[kv("service.name", "otel-linnix"), kv("k8s.pod.uid", "u-1")])
    payload = wire.trace_request([(resource.SerializeToString(),
                                   [field(s) for s in spans[:150]]),
                                  (pod.SerializeToString(), [field(s) for s in spans[150:]])],
                                 scope.SerializeToString())
    expected = ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=spans[:150])]),
        ResourceSpans(resource=pod, scope_spans=[ScopeSpans(scope=scope, spans=spans[150:])])])
    assert ExportTraceServiceRequest.FromString(payload) == expected


def test_attribute_cache_is_bounded():
    enc = wire.AttrEncoder(max_per_key=10)
    for i in range(1000):
        enc("process.executable.path", f"/bin/{i}")
    assert sum(len(v) for v in enc._cache.values()) <= 10


def test_equal_numbers_of_other_types_never_share_an_encoding():
    enc = wire.AttrEncoder()
    for value in (1, True, 0, False, 1, True):
        assert parsed_span(wire.span_field(b"t" * 16, b"s" * 8, None, b"", 0, 0, enc("k", value))) \
            == library_span(b"t" * 16, b"s" * 8, None, "", 0, 0, [("k", value)])


def test_varint_matches_the_protobuf_runtime_at_every_length_boundary():
    from google.protobuf.internal.encoder import _VarintBytes

    for n in [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 2**28, 2**35, 2**63 - 1]:
        assert wire.varint(n) == _VarintBytes(n), n
    assert wire.varint(-1) == _VarintBytes(2**64 - 1)
