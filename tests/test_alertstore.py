from otel_linnix.alertstore import AlertStore
from otel_linnix.records import Alert, AlertSubject
from otel_linnix.telemetry import Telemetry


def alert(i, state="firing"):
    return Alert(f"a{i}", "rule", "warning", state, AlertSubject(pid=i), "m", 0, 0)


def test_firing_then_resolved_and_listeners():
    store = AlertStore()
    seen = []
    unsubscribe = store.subscribe(seen.append)
    store.add(alert(1))
    store.add(alert(2))
    store.add(alert(1, "resolved"))
    assert [a.id for a in store.firing()] == ["a2"]
    assert [a.state for a in store.recent()] == ["firing", "firing", "resolved"]
    unsubscribe()
    store.add(alert(3))
    assert len(seen) == 3


def test_bounded_and_counted():
    t = Telemetry()
    store = AlertStore(capacity=10, telemetry=t)
    for i in range(25):
        store.add(alert(i))
    assert len(store.firing()) == 10 and len(store.recent()) == 10
    assert t.get("otel_linnix.alerts.store_dropped").value() == 15
