"""llm_annotate against a real local OpenAI-compatible server: good and misbehaving replies."""

import logging
import time

import pytest

from otel_linnix.component import CreateSettings
from otel_linnix.config.schema import deep_merge
from otel_linnix.processors.llm_annotate import FACTORY
from otel_linnix.receivers.ebpf_process import contract
from otel_linnix.receivers.ebpf_process.decode import Decoder
from otel_linnix.records import Alert, AlertSubject, ProcessExec, ProcessStart
from otel_linnix.testing.fake_llm import FakeLLM


@pytest.fixture
def llm():
    server = FakeLLM()
    yield server
    server.stop()


def make(ctx, **config):
    proc = FACTORY.create(CreateSettings("llm_annotate", ctx, logging.getLogger("llm")),
                          deep_merge(FACTORY.defaults, {"timeout": "1s",
                                                        "budget": {"min_interval": 0}, **config}))
    proc.start()
    return proc


def planted(ctx):
    """A process whose argv carries secrets, and a firing alert about it."""
    ctx.process_table.apply([
        ProcessStart(4321, 1, 10**9, 0, 0, 0, "app"),
        ProcessExec(4321, 10**9, 2 * 10**9, "app", "/usr/bin/app",
                    ("app", "--password=hunter2", "API_TOKEN=tok-123456789"))])
    return Alert("a1", "fork_burst", "critical", "firing",
                 AlertSubject(pid=4321, start_ns=10**9, comm="app"), "app forked 90 children",
                 3 * 10**9, 3 * 10**9, {"forks": 90})


def wait_annotated(ctx, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [a for a in ctx.alerts.recent() if a.annotation]
        if done:
            return done[-1].annotation
        time.sleep(0.02)
    return None


def test_good_reply_is_attached_with_its_cited_facts(ctx, llm):
    proc = make(ctx, endpoint=llm.url)
    alert = planted(ctx)
    assert proc.process([alert]) == [alert]
    annotation = wait_annotated(ctx)
    assert annotation["source"] == "llm" and annotation["summary"] == "a shell loop is forking"
    assert annotation["facts"]["f1"].startswith("alert rule fork_burst")
    later = proc.process([])  # the annotated alert goes downstream with the next batch
    assert [a.annotation["source"] for a in later] == ["llm"]
    assert ctx.lookup("insights") is proc and proc.recent()[0]["rule"] == "fork_burst"
    proc.shutdown()


@pytest.mark.parametrize("mode", ["garbage", "invented", "slow", "429", "500"])
def test_bad_replies_fall_back_without_delaying_the_alert(ctx, llm, mode):
    llm.mode, llm.delay = mode, 3.0
    proc = make(ctx, endpoint=llm.url)
    alert = planted(ctx)
    t0 = time.monotonic()
    out = proc.process([alert])
    took = time.monotonic() - t0
    assert out == [alert] and alert.annotation is None and took < 0.1
    annotation = wait_annotated(ctx)
    assert annotation["source"] == "fallback"
    failures = ctx.telemetry.get("otel_linnix.llm.failures")
    assert sum(p.value for p in failures.points()) == 1
    proc.shutdown()


def test_secrets_never_reach_the_prompt(ctx, llm):
    """Two lines of defence, each shown on its own: the receiver's decoder redacts argv before
    anything stores it, and the prompt redacts again whatever the table holds."""
    args = b"\0".join([b"app", b"--password=hunter2", b"API_TOKEN=tok-123456789"]) + b"\0"
    raw = contract.EXEC.pack(contract.EVENT_EXEC, 4321, 0, len(args), 2 * 10**9, 10**9, 0, 0,
                             b"", b"", b"app", b"/usr/bin/app", args)
    ctx.process_table.apply([ProcessStart(4321, 1, 10**9, 0, 0, 0, "app"),
                             *Decoder().decode([raw])])
    stored = " ".join(ctx.process_table.get(4321).argv)
    assert "hunter2" not in stored and "tok-123456789" not in stored  # first line
    proc = make(ctx, endpoint=llm.url)
    proc.process([planted(ctx)])  # the table given raw secrets: only the prompt's line holds
    assert wait_annotated(ctx)["source"] == "llm"
    sent = llm.bodies()
    assert "hunter2" not in sent and "tok-123456789" not in sent  # second line
    assert "--password=***" in sent
    proc.shutdown()


def test_offline_makes_no_request(ctx, llm):
    ctx.settings["offline"] = True
    proc = make(ctx, endpoint=llm.url)
    proc.process([planted(ctx)])
    assert wait_annotated(ctx)["fallback_reason"] == "offline"
    assert proc.analyze()["source"] == "fallback"
    assert llm.requests == []
    proc.shutdown()


def test_breaker_opens_after_repeated_failures(ctx, llm):
    llm.mode = "500"
    proc = make(ctx, endpoint=llm.url, breaker={"failures": 2, "cooloff": "1h"})
    for i in range(5):
        alert = planted(ctx)
        alert.id = f"a{i}"
        proc.annotate(alert)
    assert len(llm.requests) == 2 and proc.status()["breaker"] == "open"
    proc.shutdown()


def test_hourly_request_budget(ctx, llm):
    proc = make(ctx, endpoint=llm.url, budget={"requests_per_hour": 1, "min_interval": 0})
    first, second = proc.annotate(planted(ctx)), proc.annotate(planted(ctx))
    assert first["source"] == "llm" and second["fallback_reason"] == "request_budget"
    assert len(llm.requests) == 1
    proc.shutdown()
