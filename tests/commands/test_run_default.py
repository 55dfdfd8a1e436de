"""`make run`'s agent: the embedded default pipeline on the real kernel, stopped by Ctrl-C."""

import signal
import time

import pytest

from otel_linnix.testing.cli import start_cli

pytestmark = pytest.mark.bpf


def test_default_pipeline_starts_and_ctrl_c_stops_it_within_5s():
    agent = start_cli("run")
    try:
        started = False
        deadline = time.monotonic() + 60
        for line in agent.stderr:
            if "otel-linnix started" in line:
                started = True
                break
            assert "error" not in line.lower(), line
            if time.monotonic() > deadline:
                break
        assert started
        time.sleep(1)
        agent.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        code = agent.wait(timeout=15)
        took = time.monotonic() - t0
    finally:
        agent.kill()
    print(f"\nCtrl-C to exit: {took:.2f}s")
    assert code == 0
    assert took < 5.0
