"""Linnix's linnix.toml maps onto the pipeline model."""

import pytest

from otel_linnix.config import ConfigError, load
from otel_linnix.config.linnix import from_linnix_toml

LINNIX_TOML = """
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


def test_linnix_keys_map_onto_components(tmp_path):
    f = tmp_path / "linnix.toml"
    f.write_text(LINNIX_TOML)
    raw = load(str(f))
    assert raw["receivers"]["ebpf_process"] == {"sample_interval": "250ms"}
    assert raw["processors"]["rules"] == {"rules_file": "/etc/linnix/rules.yaml"}
    assert raw["processors"]["llm_annotate"] == {
        "endpoint": "http://localhost:8090/v1/chat/completions", "model": "qwen2.5-7b",
        "timeout": 30}
    assert raw["extensions"]["api"] == {"endpoint": "127.0.0.1:3999"}
    assert raw["service"]["offline"] is True
    assert raw["service"]["pipelines"]["logs"]["processors"] == ["rules", "llm_annotate"]


def test_rules_disabled_and_no_llm():
    raw = from_linnix_toml({"rules": {"enabled": False}})
    assert raw["processors"] == {}
    assert raw["service"]["pipelines"]["traces"]["processors"] == []


def test_unknown_linnix_key_is_named():
    with pytest.raises(ConfigError) as info:
        from_linnix_toml({"api": {"bind_adress": "x"}, "bogus": {}})
    assert info.value.lines() == [
        "api.bind_adress: unknown key (known: bind_address)",
        "bogus: unknown linnix.toml section (known: runtime, telemetry, rules, api, llm)",
    ]


def test_invalid_toml(tmp_path):
    f = tmp_path / "linnix.toml"
    f.write_text("[runtime\noffline = true\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load(str(f))
