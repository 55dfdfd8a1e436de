"""CLI client commands against the real running API."""

import threading

import pytest

from otel_linnix.cli import main
from otel_linnix.client import ApiError, Client
from otel_linnix.records import Alert, AlertSubject
from otel_linnix.testing import random_tree


def test_ps_prints_a_table_and_json(make_api, live_tree, capsys):
    tree, (shell, a, b, c), records = live_tree
    api, ctx, url = make_api()
    ctx.process_table.apply(records)
    assert main(["ps", "--api", url, "--sort", "rss"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["PID", "PPID", "UID"]
    assert lines[1].split()[0] == str(b)  # most RSS first
    assert main(["ps", "--api", url, "--json"]) == 0
    assert '"processes"' in capsys.readouterr().out


def test_tree_is_indented(make_api, live_tree, capsys):
    tree, (shell, a, b, c), records = live_tree
    api, ctx, url = make_api()
    ctx.process_table.apply(records)
    assert main(["tree", str(a), "--api", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{shell} bash")
    assert out[1].startswith(f"  {a} make") and out[1].endswith("<==")
    assert out[2].startswith(f"    {c} cc1")


def test_alerts_and_unknown_pid_and_unreachable(make_api, capsys):
    api, ctx, url = make_api()
    ctx.alerts.add(Alert("a", "fork_storm", "critical", "firing", AlertSubject(), "storm!", 1, 1))
    assert main(["alerts", "--api", url]) == 0
    assert "fork_storm firing: host: storm!" in capsys.readouterr().out
    assert main(["tree", "999999", "--api", url]) == 1
    assert "no live process with pid 999999" in capsys.readouterr().err
    assert main(["ps", "--api", "http://127.0.0.1:9"]) == 1
    assert "cannot reach the agent's API" in capsys.readouterr().err


def test_insights_when_not_enabled(make_api, capsys):
    api, ctx, url = make_api()
    assert main(["insights", "--api", url]) == 1
    assert "not enabled" in capsys.readouterr().err


def test_stream_client_reads_events(make_api):
    api, ctx, url = make_api()
    recs = random_tree(5)
    got = []

    def read():
        for name, data in Client(url).events("/stream"):
            got.append((name, data["pid"]))
            if len(got) == len(recs):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    import time

    time.sleep(0.3)
    ctx.bus.publish(recs)
    reader.join(10)
    assert [pid for _, pid in got] == [r.pid for r in recs]
    assert {name for name, _ in got} == {"fork", "exec", "exit"}


def test_token_from_env(make_api, monkeypatch):
    monkeypatch.setenv("T_API", "tok")
    api, ctx, url = make_api(auth={"token_env": "T_API"})
    with pytest.raises(ApiError, match="bearer token"):
        Client(url, token="wrong").get("/health")
    monkeypatch.setenv("OTEL_LINNIX_API_TOKEN", "tok")
    assert Client(url).get("/health")["status"] == "ok"
