"""Shared fixtures. Tests marked ``bpf`` skip, with the reason, where BPF cannot be loaded."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from otel_linnix.testing.bpfcheck import bpf_unavailable_reason

# What agents started by the tests keep (spools, learned baselines, which running processes
# were reported) goes to a scratch directory, never into the machine's own state directory;
# agents in subprocesses inherit it.
if "OTEL_LINNIX_STATE_DIR" not in os.environ:
    os.environ["OTEL_LINNIX_STATE_DIR"] = tempfile.mkdtemp(prefix="otel-linnix-tests-")
    atexit.register(shutil.rmtree, os.environ["OTEL_LINNIX_STATE_DIR"], True)


def pytest_collection_modifyitems(config, items):
    bpf_items = [item for item in items if "bpf" in item.keywords]
    if not bpf_items:
        return
    reason = bpf_unavailable_reason()
    if reason:
        for item in bpf_items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def ctx():
    """A fresh AgentContext with a fixed fake host."""
    from otel_linnix.testing import test_context

    return test_context()
