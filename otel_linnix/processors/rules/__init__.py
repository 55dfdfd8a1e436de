"""``rules`` processor: fork storms, fork bursts, runaway trees, CPU spikes, leaks, fd exhaustion."""

from otel_linnix.component import Factory, Kind

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rules_file": {"type": "string",
                       "description": "YAML rules file (empty: the shipped rules/default.yaml)"},
        "state_dir": {"type": "string", "description": "where learned baselines are kept "
                                                      "(empty: <state directory>/rules)"},
        "overrides": {"type": "object", "additionalProperties": {"type": "object"},
                      "description": "rule type → settings laid over every rule of that type "
                                     "(a linnix.toml's [psi] lands here)"},
    },
}


def _create(settings, config):
    from otel_linnix.processors.rules.processor import RulesProcessor

    return RulesProcessor(settings, config)


def _validate(config):
    from otel_linnix.processors.rules import rulesfile

    if config["rules_file"] or config["overrides"]:
        try:
            rulesfile.load(config["rules_file"], config["overrides"])
        except Exception as exc:  # ConfigError: one line per problem
            raise ValueError(str(exc).replace("\n", "; ")) from None


FACTORY = Factory(
    type="rules",
    kind=Kind.PROCESSOR,
    schema=_SCHEMA,
    defaults={"rules_file": "", "state_dir": "", "overrides": {}},
    create=_create,
    validate=_validate,
    description="detects fork storms, runaway trees, CPU spikes, memory leaks, fd exhaustion",
)
