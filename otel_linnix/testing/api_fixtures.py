"""Fixtures for tests that need the running API: ``make_api`` and ``live_tree``."""

import logging

import pytest

from otel_linnix.component import CreateSettings
from otel_linnix.config.schema import deep_merge
from otel_linnix.testing import ProcessTreeBuilder, test_context


@pytest.fixture
def make_api():
    started = []

    def make(ctx=None, **config):
        from otel_linnix.api import FACTORY

        ctx = ctx or test_context()
        api = FACTORY.create(CreateSettings("api", ctx, logging.getLogger("api")),
                             deep_merge(FACTORY.defaults, {"endpoint": "127.0.0.1:0", **config}))
        api.start()
        started.append(api)
        return api, ctx, f"http://127.0.0.1:{api.port}"

    yield make
    for api in started:
        api.shutdown(2)


@pytest.fixture
def live_tree():
    """A shell with two children and a grandchild, all alive, plus sampled data."""
    from otel_linnix.testing.builders import sample

    tree = ProcessTreeBuilder()
    shell = tree.spawn(1, comm="bash", exe="/bin/bash", argv=("bash",))
    a = tree.spawn(shell, comm="make", exe="/usr/bin/make", argv=("make", "-j2"))
    b = tree.spawn(shell, comm="vim", exe="/usr/bin/vim", argv=("vim", "x"), uid=1001)
    c = tree.spawn(a, comm="cc1", exe="/usr/lib/gcc/cc1", argv=("cc1",))
    samples = [sample(pid, tree.procs[pid].start_ns, tree.now_ns, cpu_ns=cpu, rss=rss,
                      comm=tree.procs[pid].comm)
               for pid, cpu, rss in ((a, 5, 100), (b, 1, 900), (c, 9, 50))]
    return tree, (shell, a, b, c), tree.records() + samples
