"""Where the agent keeps what must outlive it (the export spool, learned baselines)."""

from __future__ import annotations

import os
import tempfile


def default_state_dir() -> str:
    """$OTEL_LINNIX_STATE_DIR when set; else /var/lib/otel-linnix as root, a per-user directory
    under the temp dir otherwise."""
    if os.environ.get("OTEL_LINNIX_STATE_DIR"):
        return os.environ["OTEL_LINNIX_STATE_DIR"]
    if os.geteuid() == 0:
        return "/var/lib/otel-linnix"
    return os.path.join(tempfile.gettempdir(), f"otel-linnix-{os.geteuid()}")
