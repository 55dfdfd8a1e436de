"""The HTTP API with a real HTTP client against the running server."""

import json
import socket
import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from otel_linnix.records import Alert, AlertSubject, ProcessExit
from otel_linnix.testing import ProcessTreeBuilder, random_tree
from otel_linnix.testing.builders import fold_brief
from otel_linnix.testing.telemetry_checks import wait


def test_health_ready_metrics(make_api):
    api, ctx, url = make_api()
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    assert httpx.get(f"{url}/readyz").status_code == 503
    ctx.ready.set()
    assert httpx.get(f"{url}/readyz").json() == {"ready": True}
    ctx.telemetry.counter("otel_linnix.process.forks", "f").add(7)
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)}
    assert families["otel_linnix_process_forks"].samples[0].value == 7


def test_metrics_is_the_prometheus_exporters_registry_when_there_is_one(make_api):
    """One registry: with a prometheus exporter (here with a namespace), /metrics shows exactly
    what its endpoint shows."""
    import logging

    from otel_linnix.component import CreateSettings
    from otel_linnix.config.schema import deep_merge
    from otel_linnix.exporters.prometheus import FACTORY
    from otel_linnix.testing import test_context

    ctx = test_context()
    ctx.telemetry.counter("otel_linnix.process.forks", "f").add(3)
    exporter = FACTORY.create(CreateSettings("prometheus", ctx, logging.getLogger("p")),
                              deep_merge(FACTORY.defaults, {"endpoint": "127.0.0.1:0",
                                                            "namespace": "edge"}))
    exporter.start()
    try:
        api, ctx, url = make_api(ctx)
        served = httpx.get(f"{url}/metrics").text
        own = httpx.get(f"http://127.0.0.1:{exporter.port}/metrics").text
    finally:
        exporter.shutdown()
    names = {f.name for f in text_string_to_metric_families(served)}
    assert "edge_otel_linnix_process_forks" in names
    assert names == {f.name for f in text_string_to_metric_families(own)}


def test_processes_filters_sort_limit(make_api, live_tree):
    tree, (shell, a, b, c), records = live_tree
    api, ctx, url = make_api()
    ctx.process_table.apply(records)
    body = httpx.get(f"{url}/processes").json()
    assert {p["pid"] for p in body["processes"]} == {shell, a, b, c}
    assert [p["pid"] for p in httpx.get(f"{url}/processes?comm=vim").json()["processes"]] == [b]
    assert [p["pid"] for p in httpx.get(f"{url}/processes?user=1001").json()["processes"]] == [b]
    assert {p["pid"] for p in httpx.get(f"{url}/processes?ppid={shell}").json()["processes"]} == {a, b}
    by_rss = httpx.get(f"{url}/processes?sort=rss&limit=2").json()["processes"]
    assert [p["pid"] for p in by_rss] == [b, a]
    one = httpx.get(f"{url}/processes/{c}").json()
    assert one["exe"] == "/usr/lib/gcc/cc1" and one["sample"]["rss_bytes"] == 50


@pytest.mark.parametrize("path,status", [
    ("/processes/999999", 404), ("/processes/abc", 400), ("/graph/0", 400),
    ("/processes?sort=size", 400), ("/processes?limit=-1", 400), ("/processes?limit=x", 400),
    ("/processes?bogus=1", 400), ("/nope", 404), ("/graph/999999", 404),
])
def test_bad_requests_are_4xx_json(make_api, path, status):
    api, ctx, url = make_api()
    resp = httpx.get(url + path)
    assert resp.status_code == status
    assert resp.json()["status"] == status


def test_graph_tags_ancestors_self_descendants(make_api, live_tree):
    tree, (shell, a, b, c), records = live_tree
    api, ctx, url = make_api()
    ctx.process_table.apply(records)
    graph = httpx.get(f"{url}/graph/{a}").json()
    roles = {n["pid"]: n["role"] for n in graph["nodes"]}
    assert roles == {shell: "ancestor", a: "self", c: "descendant"}
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(shell, a), (a, c)}


def test_alerts_and_insights(make_api):
    api, ctx, url = make_api()
    ctx.alerts.add(Alert("x1", "fork_storm", "critical", "firing", AlertSubject(), "storm", 1, 2))
    body = httpx.get(f"{url}/alerts").json()
    assert body["firing"][0]["rule"] == "fork_storm"
    resp = httpx.get(f"{url}/insights")
    assert resp.status_code == 503 and "not enabled" in resp.json()["error"]


def _sse_events(url, n, out, headers=None, timeout=20):
    with httpx.stream("GET", url, headers=headers or {}, timeout=timeout) as resp:
        for line in resp.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
                if len(out) >= n:
                    return


def test_stream_three_clients_one_stuck(make_api):
    api, ctx, url = make_api(client_queue=4000)
    tree = ProcessTreeBuilder()
    for i in range(3000):  # ~7 MB of events: more than the kernel's socket buffers hold
        tree.exit(tree.spawn(1, comm="job", exe="/bin/job", argv=("job", "x" * 2000, str(i))))
    recs = tree.records()
    got = [[], []]
    readers = [threading.Thread(target=_sse_events, args=(f"{url}/stream", len(recs), got[i]))
               for i in range(2)]
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", api.port))
    stuck.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    for t in readers:
        t.start()
    clients = ctx.telemetry.get("otel_linnix.api.stream.clients")
    assert wait(lambda: clients.value() == 3, 10), "the three clients never connected"
    for i in range(0, len(recs), 100):  # the receiver publishing batches
        ctx.bus.publish(recs[i:i + 100])
        time.sleep(0.02)
    for t in readers:
        t.join(60)
    stuck.close()
    expected = [r.pid for r in recs]
    for events in got:
        assert [e["pid"] for e in events] == expected  # every event, in order
    dropped = ctx.telemetry.get("otel_linnix.api.stream.dropped_clients").value()
    assert dropped == 1


def test_last_event_id_resumes(make_api):
    api, ctx, url = make_api()
    recs = random_tree(20, seed=12)
    ctx.bus.publish(recs)
    out = []
    _sse_events(f"{url}/stream", len(recs) - 10, out, headers={"Last-Event-ID": "10"})
    assert [e["pid"] for e in out] == [r.pid for r in recs[10:]]


def test_an_exit_standing_for_its_fork_and_execs_streams_as_them_and_an_exit(make_api):
    """What a client reads is the same whether the receiver folded a brief lifetime's fork
    (and execs) into its exit or not."""
    api, ctx, url = make_api()
    tree = ProcessTreeBuilder()
    for _ in range(2):
        tree.exit(tree.spawn(1, comm="brief"))
    tree.exit(tree.spawn(1, comm="sh", exe="/usr/bin/cc", argv=("cc", "-c", "x.c")))
    plain = tree.records()
    folded = fold_brief(plain)
    assert len(folded) == 3 and all(type(r) is ProcessExit for r in folded)
    ctx.bus.publish(plain)
    ctx.bus.publish(folded)
    ctx.bus.publish(plain)  # more to read: too few events from the folded ones fails, not hangs
    out: list[dict] = []
    _sse_events(f"{url}/stream", 2 * len(plain), out, headers={"Last-Event-ID": "0"})
    assert [e["type"] for e in out[:len(plain)]] == ["fork", "exit"] * 2 + ["fork", "exec", "exit"]
    assert out[len(plain):] == out[:len(plain)]


def test_non_loopback_without_token_refuses_to_start(make_api):
    with pytest.raises(ValueError, match="needs a bearer token"):
        make_api(endpoint="0.0.0.0:0")


def test_token_required_when_configured(make_api, monkeypatch):
    monkeypatch.setenv("OTEL_LINNIX_TEST_TOKEN", "s3cret")
    api, ctx, url = make_api(auth={"token_env": "OTEL_LINNIX_TEST_TOKEN"})
    assert httpx.get(f"{url}/health").status_code == 401
    assert httpx.get(f"{url}/health", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = httpx.get(f"{url}/health", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_fuzz_1000_malformed_requests_only_4xx(make_api):
    import random

    api, ctx, url = make_api()
    ctx.process_table.apply(random_tree(50))
    rng = random.Random(5)
    paths = ["/processes/" + "9" * 40, "/processes/-1", "/graph/%00", "/processes?limit=" + "9" * 30,
             "/processes?" + "a=" + "x" * 5000, "/%2e%2e/etc/passwd", "/processes/1.5",
             "/stream?ppid=abc", "/alerts?x=" + "%" * 10, "/graph/" + "1" * 2000]
    methods = ["GET", "PUT", "DELETE", "PATCH", "TRACE", "BREW"]
    statuses = []
    with httpx.Client(base_url=url, timeout=5) as client:
        for _ in range(900):
            path = rng.choice(paths) + "".join(rng.choice("ab%/?=&") for _ in range(rng.randint(0, 8)))
            resp = client.request(rng.choice(methods), path)
            statuses.append(resp.status_code)
    for _ in range(100):  # broken raw HTTP
        raw = rng.choice([b"GET / HTTP/9.9\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET /health\r\n\r\n",
                          b"GET /health HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                          b"POST /insights HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\n\r\n",
                          b"GET /health HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 200 + b"\r\n"])
        with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
            sock.sendall(raw)
            reply = sock.recv(64)
        if reply.startswith(b"HTTP/1.1 "):
            statuses.append(int(reply[9:12]))
    assert statuses and all(400 <= s < 500 for s in statuses if s != 200), sorted(set(statuses))
    assert not [s for s in statuses if s >= 500]
    assert httpx.get(f"{url}/health").status_code == 200  # still alive
