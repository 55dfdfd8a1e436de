"""``otel-linnix validate``: OK for every shipped pipeline; one precise line for each bad input."""

from pathlib import Path

import pytest

from otel_linnix.testing.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))

GOOD = """
receivers:
  replay:
    path: rec.jsonl
exporters:
  debug: {}
service:
  pipelines:
    logs: {receivers: [replay], exporters: [debug]}
"""


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_every_shipped_pipeline_validates(path):
    result = run_cli("validate", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_embedded_default_is_pipelines_default():
    from otel_linnix.config.loader import default_pipeline_text

    assert (ROOT / "pipelines" / "default.yaml").read_text() == default_pipeline_text()


@pytest.mark.parametrize("text,expected", [
    (GOOD.replace("debug: {}", "debug: {verbosty: normal}"),
     "exporters.debug.verbosty: unknown key; did you mean 'verbosity'?"),
    (GOOD.replace("debug: {}", "debug: {queue_size: lots}"),
     "exporters.debug.queue_size: must be integer, not str ('lots')"),
    (GOOD.replace("exporters: [debug]", "exporters: [debug, otlp]"),
     "service.pipelines.logs.exporters[1]: exporter 'otlp' is not defined in exporters"),
    (GOOD.replace("rec.jsonl", "${env:OTEL_LINNIX_TEST_UNSET}"),
     "receivers.replay.path: environment variable OTEL_LINNIX_TEST_UNSET is not set "
     "(set it or write ${env:OTEL_LINNIX_TEST_UNSET:-default})"),
    (GOOD.replace("debug: {}", "debug: {"), "invalid YAML"),
], ids=["unknown-key", "wrong-type", "undefined-component", "unset-env", "bad-yaml"])
def test_bad_config_gives_one_line_naming_the_path(tmp_path, text, expected):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    result = run_cli("validate", "--config", str(f))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("otel-linnix: error: ")
    assert expected in lines[0]


def test_invalid_yaml_names_the_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("receivers:\n  replay:\n    path: x\n   bad_indent: 1\n")
    result = run_cli("validate", "--config", str(f))
    assert f"{f}:4:" in result.stderr, result.stderr  # the mis-indented line


def test_missing_file():
    result = run_cli("validate", "--config", "/nonexistent/otel-linnix.yaml")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("otel-linnix: error: config file not found: "
                                     "/nonexistent/otel-linnix.yaml")


def test_unknown_key_in_otlp_exporter(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.replace("debug: {}", "debug: {}\n  otlp: {endpont: '127.0.0.1:4317'}")
                 .replace("exporters: [debug]", "exporters: [debug, otlp]"))
    result = run_cli("validate", "--config", str(f))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "exporters.otlp.endpont: unknown key; did you mean 'endpoint'?" in result.stderr
