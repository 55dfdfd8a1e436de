"""The registry: type names → factories, named instances, clear errors."""

import pytest

from otel_linnix import registry
from otel_linnix.component import Kind


def test_named_instances_share_the_type():
    assert registry.type_of("otlp/backup") == "otlp"
    assert registry.type_of("otlp") == "otlp"


def test_every_registered_module_path_is_inside_the_package():
    for kind in Kind:
        for name in registry.types(kind):
            assert registry._MODULES[kind][name].startswith("otel_linnix.")


def test_factory_matches_its_registration():
    factory = registry.get_factory(Kind.RECEIVER, "replay")
    assert factory.type == "replay" and factory.kind is Kind.RECEIVER
    assert factory.schema["additionalProperties"] is False


def test_unknown_type_lists_the_known_ones():
    with pytest.raises(registry.UnknownComponentError) as info:
        registry.get_factory(Kind.EXPORTER, "zipkin")
    assert "unknown exporter type 'zipkin' (known: " in info.value.args[0]
    assert "debug" in info.value.args[0]


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.value)
def test_every_factory_has_a_strict_schema_that_accepts_its_defaults(kind):
    from otel_linnix.config.schema import check

    for name in registry.types(kind):
        factory = registry.get_factory(kind, name)
        assert factory.schema.get("additionalProperties") is False, name
        required = set(factory.schema.get("required", []))
        problems = [p for p in check(factory.defaults, factory.schema)
                    if not any(r in p[1] for r in required)]
        assert problems == [], (name, problems)
