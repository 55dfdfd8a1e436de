"""Linnix's linnix.toml maps onto the pipeline model: its shipped configs, verbatim, validate
and run; settings with no equivalent are warnings naming them; a misspelt key is an error."""

from pathlib import Path

import pytest

from otel_linnix.config import ConfigError, load, load_config
from otel_linnix.config.linnix import from_linnix_toml
from otel_linnix.processors.rules import rulesfile

SHIPPED = sorted((Path(__file__).parents[1] / "fixtures" / "linnix" / "configs").glob("*.toml"))

OUR_OLDER_SHAPE = """
[runtime]
offline = true

[telemetry]
sample_interval_ms = 250

[rules]
enabled = true
config_path = "/etc/linnix/rules.yaml"

[api]
bind_address = "127.0.0.1:3999"

[llm]
endpoint = "http://localhost:8090/v1/chat/completions"
model = "qwen2.5-7b"
timeout_secs = 30
"""


def test_the_older_shape_maps_onto_components(tmp_path):
    f = tmp_path / "linnix.toml"
    f.write_text(OUR_OLDER_SHAPE)
    raw = load(str(f))
    assert raw["receivers"]["ebpf_process"] == {"sample_interval": "250ms"}
    assert raw["processors"]["rules"] == {"rules_file": "/etc/linnix/rules.yaml"}
    assert raw["processors"]["llm_annotate"] == {
        "endpoint": "http://localhost:8090/v1/chat/completions", "model": "qwen2.5-7b",
        "timeout": "30s"}
    assert raw["extensions"]["api"] == {"endpoint": "127.0.0.1:3999"}
    assert raw["service"]["offline"] is True
    assert raw["service"]["pipelines"]["logs"]["processors"] == ["rules", "llm_annotate"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_linnix_shipped_configs_validate_with_warnings_only(path, monkeypatch):
    monkeypatch.delenv("LINNIX_API_TOKEN", raising=False)
    config = load_config(str(path))
    assert {p.name for p in config.pipelines} == {"traces", "metrics", "logs"}
    for warning in config.warnings:
        assert warning.startswith("linnix.toml "), warning
        assert warning.endswith("ignored"), warning


def test_the_current_linnix_toml_maps_every_section_it_can(monkeypatch):
    monkeypatch.delenv("LINNIX_API_TOKEN", raising=False)
    path = next(p for p in SHIPPED if p.name == "linnix.toml")
    config = load_config(str(path))
    api = config.components[next(k for k in config.components if k[1] == "api")].config
    assert api["endpoint"] == "127.0.0.1:3000"  # [api] listen_addr
    llm = next(s for s in config.components.values() if s.id == "llm_annotate").config
    assert (llm["endpoint"], llm["model"], llm["timeout"]) == (
        "http://localhost:8090/v1/chat/completions", "linnix-3b-distilled", "30000ms")
    prom = next(s for s in config.components.values() if s.id == "prometheus").config
    assert prom["endpoint"] == "127.0.0.1:9464"  # [outputs] metrics_listen_addr
    receiver = next(s for s in config.components.values() if s.id == "ebpf_process").config
    assert receiver["sample_interval"] == "5000ms"
    rules = next(s for s in config.components.values() if s.id == "rules").config
    assert rules["overrides"] == {"pressure": {"min_duration": "15s", "cooldown": "300s"}}
    pressure = [r for r in rulesfile.load(None, rules["overrides"]) if r["type"] == "pressure"]
    assert pressure and all(r["min_duration"] == "15s" and r["cooldown"] == "300s"
                            for r in pressure)
    assert sorted(config.warnings) == sorted([
        "linnix.toml telemetry.retention_seconds: no time-windowed history here: exited "
        "processes live on as spans in the exporters; ignored",
        "linnix.toml telemetry.min_eps_to_enable: samples are always forwarded; ignored",
        "linnix.toml psi.attribution_threshold_ms: the pressure rule names the top users of "
        "the contended resource, with no per-offender floor; ignored"])


def test_sections_with_no_equivalent_are_one_warning_each(monkeypatch):
    monkeypatch.delenv("LINNIX_API_TOKEN", raising=False)
    path = next(p for p in SHIPPED if p.name == "linnix-123b6a2.toml")
    config = load_config(str(path))
    mandate = [w for w in config.warnings if "[mandate]" in w]
    assert len(mandate) == 1 and "no equivalent" in mandate[0]


def test_auth_token_and_linnix_api_token(monkeypatch):
    monkeypatch.delenv("LINNIX_API_TOKEN", raising=False)
    raw, _ = from_linnix_toml({"api": {"listen_addr": "0.0.0.0:3000", "auth_token": "s3"}})
    assert raw["extensions"]["api"] == {"endpoint": "0.0.0.0:3000", "auth": {"token": "s3"}}
    monkeypatch.setenv("LINNIX_API_TOKEN", "from-env")
    raw, _ = from_linnix_toml({"api": {"listen_addr": "0.0.0.0:3000", "auth_token": "s3"}})
    assert raw["extensions"]["api"]["auth"] == {"token_env": "LINNIX_API_TOKEN"}


def test_disabled_outputs_and_reasoner_are_left_out():
    raw, _ = from_linnix_toml({"rules": {"enabled": False}, "prometheus": {"enabled": False},
                               "reasoner": {"enabled": False, "endpoint": "http://x/v1"}})
    assert raw["processors"] == {}
    assert "prometheus" not in raw["exporters"]
    assert raw["service"]["pipelines"]["traces"]["processors"] == []


def test_misspelt_keys_and_sections_are_errors_naming_them():
    with pytest.raises(ConfigError) as info:
        from_linnix_toml({"api": {"listen_adr": "x"}, "reasonner": {}})
    lines = info.value.lines()
    assert lines[0] == ("api.listen_adr: unknown key (known: auth_token, bind_address, "
                        "listen_addr, require_kernel_instrumentation, unix_socket)")
    assert lines[1].startswith("reasonner: unknown linnix.toml section (known: api, runtime")


def test_env_is_expanded_once_so_an_escaped_reference_stays_literal(tmp_path, monkeypatch):
    monkeypatch.setenv("LINNIX_MODEL", "m1")
    f = tmp_path / "linnix.toml"
    f.write_text('[reasoner]\nendpoint = "http://x/v1"\nmodel = "$${env:LINNIX_MODEL}"\n')
    assert load(str(f))["processors"]["llm_annotate"]["model"] == "${env:LINNIX_MODEL}"
    f.write_text('[reasoner]\nendpoint = "http://x/v1"\nmodel = "${env:LINNIX_MODEL}"\n')
    assert load(str(f))["processors"]["llm_annotate"]["model"] == "m1"


def test_invalid_toml(tmp_path):
    f = tmp_path / "linnix.toml"
    f.write_text("[runtime\noffline = true\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(str(f))
