"""Config loading and validation: every problem names its exact path."""

import pytest

from otel_linnix.component import Kind, Signal
from otel_linnix.config import ConfigError, build, load
from otel_linnix.config.expand import expand

MINIMAL = {
    "receivers": {"replay": {"path": "x.jsonl"}},
    "exporters": {"debug": {}},
    "service": {"pipelines": {"traces": {"receivers": ["replay"], "exporters": ["debug"]}}},
}


def problems(raw):
    with pytest.raises(ConfigError) as info:
        build(raw)
    return info.value.lines()


def with_(path, value, base=MINIMAL):
    import copy

    doc = copy.deepcopy(base)
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return doc


def test_minimal_config_builds_with_defaults_applied():
    config = build(MINIMAL)
    spec = config.spec(Kind.RECEIVER, "replay")
    assert spec.config["speed"] == 0 and spec.config["path"] == "x.jsonl"
    assert config.pipelines[0].signal is Signal.TRACES
    assert config.warnings == []


def test_unknown_key_names_the_path_and_suggests():
    lines = problems(with_(("exporters", "debug", "verbosty"), "normal"))
    assert lines == ["exporters.debug.verbosty: unknown key; did you mean 'verbosity'?"]


def test_wrong_type_names_the_path():
    lines = problems(with_(("receivers", "replay", "batch_size"), "many"))
    assert len(lines) == 1 and lines[0].startswith("receivers.replay.batch_size: must be integer")


def test_bad_duration_is_explained():
    lines = problems(with_(("exporters", "debug", "summary_interval"), "10 parsecs"))
    assert lines == ["exporters.debug.summary_interval: '10 parsecs' is not a valid duration: "
                     "250ms, 1s, 5m, 1h or seconds as a number"]


def test_pipeline_naming_undefined_component():
    doc = with_(("service", "pipelines", "traces", "exporters"), ["debug", "otlp/missing"])
    assert problems(doc) == ["service.pipelines.traces.exporters[1]: exporter 'otlp/missing' "
                             "is not defined in exporters"]


def test_unknown_component_type():
    doc = with_(("exporters", "nosuch"), {})
    assert any(line.startswith("exporters.nosuch: unknown exporter type 'nosuch'")
               for line in problems(doc))


def test_bad_pipeline_name():
    doc = with_(("service", "pipelines", "spans"), {"receivers": ["replay"],
                                                    "exporters": ["debug"]})
    assert problems(doc)[0].startswith("service.pipelines.spans: pipeline names are traces")


def test_unused_component_is_a_warning_not_an_error():
    doc = with_(("exporters", "debug/spare"), {})
    assert build(doc).warnings == ["exporters.debug/spare: defined but not used by any pipeline"]


def test_unknown_top_level_and_service_keys():
    assert problems({**MINIMAL, "exporter": {}})[0].startswith("exporter: unknown key")
    doc = with_(("service", "pipeline"), {})
    assert problems(doc) == ["service.pipeline: unknown key; did you mean 'pipelines'?"]


def test_env_expansion_with_default_and_typing():
    raw = {"a": "${env:PORT}", "b": "x-${env:NAME:-dflt}-y", "c": "$${env:LITERAL}", "d": [1]}
    assert expand(raw, {"PORT": "4317"}) == {"a": 4317, "b": "x-dflt-y", "c": "${env:LITERAL}",
                                              "d": [1]}


def test_unset_env_names_the_path_and_variable():
    with pytest.raises(ConfigError) as info:
        expand({"exporters": {"otlp": {"endpoint": "${env:COLLECTOR}"}}}, {})
    assert info.value.lines() == ["exporters.otlp.endpoint: environment variable COLLECTOR is "
                                  "not set (set it or write ${env:COLLECTOR:-default})"]


def test_malformed_reference_is_rejected():
    with pytest.raises(ConfigError, match="malformed reference"):
        expand({"x": "${COLLECTOR}"}, {})


def test_invalid_yaml_reports_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("receivers:\n  replay:\n    path: [unclosed\nservice: {}\n")
    with pytest.raises(ConfigError) as info:
        load(str(f))
    assert info.value.lines()[0].startswith(f"{f}:4:")
    assert "invalid YAML" in info.value.lines()[0]


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found: /nonexistent.yaml"):
        load("/nonexistent.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("service: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load(str(f))


def test_embedded_default_loads_as_yaml():
    raw = load(None)
    assert set(raw["service"]["pipelines"]) == {"traces", "metrics", "logs"}
