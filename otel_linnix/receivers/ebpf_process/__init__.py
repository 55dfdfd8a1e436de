"""``ebpf_process`` receiver: every fork, exec, exit and OOM kill on the host, plus /proc
sampling and the kernel's pressure (PSI) and OOM counters."""

from otel_linnix.component import Factory, Kind
from otel_linnix.config.types import DURATION
from otel_linnix.receivers.running import UNFINISHED_DEFAULTS, UNFINISHED_SCHEMA

_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sample_interval": DURATION,
        "sample_top_n": {"type": "integer", "minimum": 0, "maximum": 10000,
                         "description": "processes sampled per tick by CPU and by RSS "
                                        "(plus every process a rule watches)"},
        "poll_interval": {**DURATION, "description": (
            "how long records gather in the ring buffer before a drain (sooner when it is a "
            "quarter full): longer costs less CPU per process, and delays spans that much")},
        "argv_max_args": {"type": "integer", "minimum": 1, "maximum": 1024},
        "argv_max_bytes": {"type": "integer", "minimum": 16, "maximum": 4096},
        "ringbuf_pages": {"type": "integer", "enum": [2**i for i in range(4, 17)],
                          "description": "ring buffer size in 4 KiB pages (a power of two)"},
        "max_lifetimes": {"type": "integer", "minimum": 1024, "maximum": 4194304,
                          "description": "live processes the kernel side can track"},
        "exec_events": {"type": "boolean", "description": "forward exec records downstream"},
        "cgroup_prefix": {"type": "string",
                          "description": "only forward records and samples of processes whose "
                                         "cgroup path starts with this (a sidecar); empty: all"},
        "pressure_cgroups": {"type": "integer", "minimum": 0, "maximum": 1024,
                             "description": "cgroup v2 groups whose PSI is read per tick "
                                            "(shallowest first; the host's always is)"},
        **UNFINISHED_SCHEMA,
        "seed_from_proc": {"type": "boolean",
                           "description": "learn processes older than the agent from /proc"},
        "traceparent": {
            "type": "object", "additionalProperties": False,
            "description": "join a process started with TRACEPARENT in its environment to that "
                           "trace (only that variable and TRACESTATE are ever read)",
            "properties": {
                "enabled": {"type": "boolean"},
                "respect_sampled": {"type": "boolean", "description":
                                    "an unsampled context (flags without 01) keeps the "
                                    "process's own per-tree trace"},
            },
        },
    },
}


def _create(settings, config):
    from otel_linnix.receivers.ebpf_process.receiver import EbpfProcessReceiver

    return EbpfProcessReceiver(settings, config)


FACTORY = Factory(
    type="ebpf_process",
    kind=Kind.RECEIVER,
    schema=_SCHEMA,
    defaults={"sample_interval": "1s", "sample_top_n": 20, "poll_interval": "200ms",
              "argv_max_args": 64, "argv_max_bytes": 4096, "ringbuf_pages": 1024,
              "max_lifetimes": 131072, "exec_events": True, "seed_from_proc": True,
              "cgroup_prefix": "", "pressure_cgroups": 32,
              "traceparent": {"enabled": True, "respect_sampled": True},
              **UNFINISHED_DEFAULTS},
    create=_create,
    description="fork / exec / exit from eBPF tracepoints, CPU / memory / fd sampling from /proc",
)
