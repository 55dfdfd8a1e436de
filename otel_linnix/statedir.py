"""Where the agent keeps what must outlive it (the export spool, learned baselines)."""

from __future__ import annotations

import os
import tempfile


def default_state_dir() -> str:
    """/var/lib/otel-linnix as root; a per-user directory under the temp dir otherwise."""
    if os.geteuid() == 0:
        return "/var/lib/otel-linnix"
    return os.path.join(tempfile.gettempdir(), f"otel-linnix-{os.geteuid()}")
