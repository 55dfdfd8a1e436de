"""``otel-linnix run``: starts, shows records, and stops cleanly on SIGINT / SIGTERM within 5 s."""

import signal
import time

import pytest

from otel_linnix import recording
from otel_linnix.testing import random_tree, test_context
from otel_linnix.testing.cli import run_cli, start_cli

PIPELINE = """
receivers:
  replay: {{path: {path}, speed: {speed}, exit_when_done: {exit}}}
exporters:
  debug: {{verbosity: normal}}
service:
  shutdown_timeout: 3s
  pipelines:
    traces: {{receivers: [replay], exporters: [debug]}}
"""


def write_config(tmp_path, speed, exit_when_done, n=400):
    rec = tmp_path / "rec.jsonl"
    with open(rec, "w") as fh:
        # 1 ms between records: a 400-process tree plays for ~2.4 s at real time
        recording.Writer(fh, test_context().host).write(random_tree(n))
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text(PIPELINE.format(path=rec, speed=speed, exit=str(exit_when_done).lower()))
    return cfg


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_agent_cleanly_and_quickly(tmp_path, sig):
    cfg = write_config(tmp_path, speed=0.05, exit_when_done=False)  # plays for far longer
    proc = start_cli("run", "--config", str(cfg))
    try:
        first = proc.stdout.readline()
        assert first.startswith("fork"), first + proc.stderr.read()
        proc.send_signal(sig)
        t0 = time.monotonic()
        code = proc.wait(timeout=10)
        took = time.monotonic() - t0
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert took < 5.0, took
    assert "stopped" in stderr and "Traceback" not in stderr


def test_replay_to_the_end_exits_by_itself(tmp_path):
    cfg = write_config(tmp_path, speed=0, exit_when_done=True, n=50)
    result = run_cli("run", "--config", str(cfg), timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("exit ") for line in lines) == 50


def test_start_failure_is_one_clear_error(tmp_path):
    cfg = tmp_path / "pipeline.yaml"
    cfg.write_text(PIPELINE.format(path=tmp_path / "missing.jsonl", speed=0, exit="true"))
    result = run_cli("run", "--config", str(cfg))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "receivers.replay: cannot create:" in result.stderr and "missing.jsonl" in result.stderr
