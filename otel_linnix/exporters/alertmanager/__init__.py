"""``alertmanager`` exporter: alerts to Prometheus Alertmanager's v2 API, so they page people.

Alertmanager already routes, groups, silences, inhibits and fans out to Slack, PagerDuty,
e-mail and webhooks; this exporter speaks to it the way Prometheus does: every firing alert is
posted and re-posted before its ``endsAt`` lapses, and a resolution is posted with ``endsAt``.
"""

from otel_linnix.component import Factory, Kind, Signal
from otel_linnix.config.types import DURATION

_SECRET = {"type": "object", "additionalProperties": False,
           "properties": {"env": {"type": "string", "description": "environment variable"},
                          "file": {"type": "string", "description": "file holding it"}}}

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": {"type": "string", "pattern": "^https?://",
                     "description": "Alertmanager base URL, e.g. http://127.0.0.1:9093"},
        "endpoints": {"type": "array", "minItems": 1, "maxItems": 16,
                      "items": {"type": "string", "pattern": "^https?://"},
                      "description": "every member of an HA pair / cluster (each gets every "
                                     "alert, as Prometheus does)"},
        "basic_auth": {"type": "object", "additionalProperties": False, "required": ["username"],
                       "properties": {"username": {"type": "string"}, "password": _SECRET}},
        "bearer_token": _SECRET,
        "tls": {"type": "object", "additionalProperties": False, "properties": {
            "ca_file": {"type": "string"}, "cert_file": {"type": "string"},
            "key_file": {"type": "string"}, "insecure_skip_verify": {"type": "boolean"}}},
        "timeout": DURATION,
        "resend_interval": {**DURATION, "description": "re-post firing alerts this often; "
                                                        "endsAt is four of these ahead"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "added to every alert's labels"},
        "trace_url": {"type": "string", "description": "annotation link template with "
                                                       "{trace_id} and {span_id}"},
        "queue_size": {"type": "integer", "minimum": 1, "maximum": 1000000},
    },
}


def _validate(config: dict) -> None:
    if bool(config.get("endpoint")) == bool(config.get("endpoints")):
        raise ValueError("give exactly one of endpoint or endpoints")


def _create(settings, config):
    from otel_linnix.exporters.alertmanager.exporter import AlertmanagerExporter

    return AlertmanagerExporter(settings, config)


FACTORY = Factory(
    type="alertmanager",
    kind=Kind.EXPORTER,
    schema=_SCHEMA,
    defaults={"timeout": "5s", "resend_interval": "1m", "labels": {}, "trace_url": "",
              "queue_size": 10000, "tls": {}},
    create=_create,
    signals=frozenset({Signal.LOGS, Signal.TRACES}),
    description="alerts to Alertmanager's v2 API (then Slack, PagerDuty, e-mail, webhooks)",
    validate=_validate,
)
