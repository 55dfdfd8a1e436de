"""``otel-linnix record`` captures real processes in a file the replay receiver reads."""

import subprocess

import pytest

from otel_linnix import recording
from otel_linnix.records import ProcessExit
from otel_linnix.testing.cli import start_cli

pytestmark = pytest.mark.bpf


def test_record_then_read_back(tmp_path):
    out = tmp_path / "capture.jsonl"
    agent = start_cli("record", "--duration", "8s", "--out", str(out))
    for line in agent.stderr:  # the receiver logs once its programs are attached
        if "attached" in line:
            break
    marker = subprocess.run(["/bin/sh", "-c", "exit 42"])
    assert agent.wait(60) == 0
    with open(out) as fh:
        head, records = recording.read(fh)
        exits = [r for r in records if type(r) is ProcessExit]
    assert head["version"] == recording.VERSION
    mine = [r for r in exits if r.exit_code == 42 and r.exe == "/bin/sh"]
    assert len(mine) == 1 and marker.returncode == 42
