"""The debug exporter: readable lines, bounded queue, drops counted."""

import io
import logging

from otel_linnix.component import CreateSettings, Signal
from otel_linnix.config.schema import deep_merge
from otel_linnix.exporters.debug import FACTORY
from otel_linnix.exporters.debug.exporter import describe
from otel_linnix.records import Alert, AlertSubject, ProcessExit
from otel_linnix.testing import ProcessTreeBuilder, random_tree
from otel_linnix.testing.builders import fold_brief


def make(ctx, **config):
    exp = FACTORY.create(CreateSettings("debug", ctx, logging.getLogger("t")),
                         deep_merge(FACTORY.defaults, config))
    exp._out = io.StringIO()
    return exp


def test_normal_verbosity_prints_a_line_per_record(ctx):
    exp = make(ctx, verbosity="normal")
    exp.start()
    recs = random_tree(10)
    exp.consume(Signal.TRACES, recs)
    exp.force_flush(5)
    exp.shutdown()
    lines = exp._out.getvalue().splitlines()
    assert len(lines) == len(recs)
    assert sum(line.startswith("exit ") for line in lines) == 10


def test_basic_verbosity_prints_alerts_and_a_summary(ctx):
    exp = make(ctx, verbosity="basic", summary_interval="1h")
    exp.start()
    alert = Alert("id1", "fork_storm", "critical", "firing", AlertSubject(), "120 forks/s", 1, 2)
    exp.consume(Signal.LOGS, [*random_tree(3), alert])
    exp.shutdown()  # flushes the summary
    out = exp._out.getvalue().splitlines()
    assert out[0] == "ALERT  [critical] fork_storm firing: host: 120 forks/s"
    assert out[1].startswith("summary ") and "logs:ProcessExit=3" in out[1]


def test_full_queue_drops_and_counts(ctx):
    exp = make(ctx, verbosity="normal", queue_size=5)  # not started: nothing drains
    exp.consume(Signal.TRACES, random_tree(10))
    dropped = ctx.telemetry.get("otel_linnix.exporter.debug.dropped").value()
    assert dropped == len(random_tree(10)) - 5
    exp.shutdown(0.1)


def test_exit_line_says_how_it_ended():
    tree = ProcessTreeBuilder()
    pid = tree.spawn(1, comm="sh", exe="/bin/sh", argv=("sh", "-c", "kill -9 $$"))
    tree.advance(2_500_000)
    rec: ProcessExit = tree.exit(pid, signal=9)
    assert describe(rec) == ("exit   pid=1000 ppid=1 sh killed by signal 9 after 2.5 ms "
                             "argv='sh -c kill -9 $$'")


def test_an_exit_standing_for_its_fork_and_exec_prints_their_lines_and_counts_them(ctx):
    tree = ProcessTreeBuilder()
    tree.exit(tree.spawn(1, comm="brief", exe="/bin/true"))
    plain = tree.records()
    folded = fold_brief(plain)
    assert len(folded) == 1 and folded[0].execs_folded
    out = {}
    for name, records in (("plain", plain), ("folded", folded)):
        for verbosity in ("normal", "basic"):
            exp = make(ctx, verbosity=verbosity, summary_interval="1h")
            exp.start()
            exp.consume(Signal.TRACES, records)
            exp.shutdown()
            out[name, verbosity] = exp._out.getvalue()
    assert out["folded", "normal"] == out["plain", "normal"]
    assert out["folded", "normal"].startswith("fork ")
    assert out["folded", "basic"] == out["plain", "basic"]
    assert "traces:ProcessStart=1" in out["plain", "basic"]
    assert "traces:ProcessExec=1" in out["plain", "basic"]
