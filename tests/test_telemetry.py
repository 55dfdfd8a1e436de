from otel_linnix.telemetry import MAX_SERIES_PER_METRIC, Telemetry


def test_counter_labels_are_capped_with_an_overflow_series():
    t = Telemetry()
    c = t.counter("otel_linnix.test.events", "events")
    for i in range(MAX_SERIES_PER_METRIC + 50):
        c.add(1, (("comm", f"c{i}"),))
    points = [p for p in t.snapshot() if p.name == "otel_linnix.test.events"]
    assert len(points) == MAX_SERIES_PER_METRIC + 1
    assert c.value((("overflow", "true"),)) == 50


def test_get_or_create_and_kind_clash():
    t = Telemetry()
    assert t.counter("a", "x") is t.counter("a", "x")
    import pytest

    with pytest.raises(ValueError):
        t._get_or_create(type(t.gauge("g", "y")), "a", "x", "1")


def test_gauge_callback_and_failing_callback():
    t = Telemetry()
    t.gauge("ok", "ok", callback=lambda: 7)
    t.gauge("bad", "bad", callback=lambda: 1 / 0)
    values = {p.name: p.value for p in t.snapshot()}
    assert values == {"ok": 7.0}
