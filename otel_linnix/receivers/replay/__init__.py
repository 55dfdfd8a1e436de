"""``replay`` receiver: plays a recording (otel_linnix.recording format) into the pipelines."""

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import DURATION
from otel_linnix.receivers.replay.receiver import ReplayReceiver
from otel_linnix.receivers.running import UNFINISHED_DEFAULTS, UNFINISHED_SCHEMA

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "recording to play (JSONL)"},
        "speed": {"type": "number", "minimum": 0,
                  "description": "1.0 = real time, 2.0 = twice as fast, 0 = as fast as possible"},
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 65536},
        "host": {"enum": ["recorded", "local"],
                 "description": "recorded: keep the recording's host identity and clock mapping; "
                                "local: shift timestamps so the first record is now, on this host"},
        "start_delay": DURATION,
        "exit_when_done": {"type": "boolean",
                           "description": "stop the agent (with a full drain) after the last record"},
        **UNFINISHED_SCHEMA,
    },
}

FACTORY = Factory(
    type="replay",
    kind=Kind.RECEIVER,
    schema=_SCHEMA,
    defaults={"speed": 0, "batch_size": 512, "host": "recorded", "start_delay": 0,
              "exit_when_done": False, **UNFINISHED_DEFAULTS},
    create=lambda settings, config: ReplayReceiver(settings, config),
    description="plays back a JSONL recording of process records",
)
