"""The replay receiver: plays a recording into the pipeline, at speed, writing the process table."""

import io
import time

import pytest

from otel_linnix import recording
from otel_linnix.component import CreateSettings
from otel_linnix.config import ConfigError, build
from otel_linnix.receivers.replay import FACTORY
from otel_linnix.records import ProcessExit, ProcessRunning, ProcessStart, record_time
from otel_linnix.testing import ListConsumer, ProcessTreeBuilder, random_tree, test_context


def write_recording(path, records, host):
    with open(path, "w") as fh:
        recording.Writer(fh, host).write(records)


def make(ctx, **config):
    import logging

    from otel_linnix.config.schema import deep_merge

    receiver = FACTORY.create(CreateSettings("replay", ctx, logging.getLogger("t")),
                              deep_merge(FACTORY.defaults, config))
    sink = ListConsumer()
    receiver.consumer = sink
    return receiver, sink


def test_replays_every_record_in_order_and_fills_the_table(tmp_path, ctx):
    recs = random_tree(200)
    live_at_end = ProcessTreeBuilder(first_pid=5000)
    live_at_end.spawn(1, comm="daemon", exe="/usr/sbin/daemon")
    recs += live_at_end.records()
    path = tmp_path / "rec.jsonl"
    write_recording(path, recs, ctx.host)
    receiver, sink = make(ctx, path=str(path), batch_size=64)
    receiver.start()
    assert receiver.done.wait(10)
    assert sink.records == recs
    assert sink.batches == -(-len(recs) // 64)
    assert [p.pid for p in ctx.process_table.snapshot()] == [5000]  # the others exited
    receiver.shutdown()  # reports what still runs, at the recording's last time
    [running] = sink.records[len(recs):]
    assert type(running) is ProcessRunning and (running.pid, running.exe, running.ts_ns) == (
        5000, "/usr/sbin/daemon", max(record_time(r) for r in recs))


def test_real_time_speed_paces_by_record_timestamps(tmp_path, ctx):
    tree = ProcessTreeBuilder()
    pid = tree.spawn(1, comm="a")
    tree.advance(400_000_000)  # 0.4 s later
    tree.exit(pid)
    path = tmp_path / "rec.jsonl"
    write_recording(path, tree.records(), ctx.host)
    receiver, sink = make(ctx, path=str(path), speed=2.0)  # 0.4 s of records at 2x → 0.2 s
    t0 = time.monotonic()
    receiver.start()
    assert sink.wait_for(lambda recs: len(recs) == 1, 5)
    assert sink.wait_for(lambda recs: len(recs) == 2, 5)
    elapsed = time.monotonic() - t0
    receiver.shutdown()
    assert 0.15 <= elapsed < 2.0, elapsed


def test_local_host_mode_shifts_times_to_now(tmp_path, ctx):
    from otel_linnix.host import boot_ns_now

    path = tmp_path / "rec.jsonl"
    recs = random_tree(3)
    write_recording(path, recs, ctx.host)
    receiver, sink = make(ctx, path=str(path), host="local")
    before = boot_ns_now()
    receiver.start()
    assert receiver.done.wait(5)
    receiver.shutdown()
    starts = [r for r in sink.records if isinstance(r, ProcessStart)]
    assert starts[0].start_ns >= before
    exits = {r.pid: r for r in sink.records if isinstance(r, ProcessExit)}
    originals = {r.pid: r for r in recs if isinstance(r, ProcessExit)}
    for pid, rec in exits.items():  # durations are preserved
        assert rec.exit_ns - rec.start_ns == originals[pid].exit_ns - originals[pid].start_ns


def test_recorded_host_identity_is_fixed_before_any_component_exists(tmp_path, ctx):
    """The service adopts the recording's host before it creates components: the exporters'
    resource (built at creation) names the recorded host, whatever order components come in."""
    from otel_linnix.component import Kind
    from otel_linnix.host import HostInfo
    from otel_linnix.service import Service

    other = HostInfo("boot-of-recording", "m" * 32, "recorded-host", 42)
    path = tmp_path / "rec.jsonl"
    write_recording(path, random_tree(2), other)
    raw = {"receivers": {"replay": {"path": str(path)}},
           "exporters": {"otlp": {"endpoint": "127.0.0.1:1", "spool": {"enabled": False}}},
           "service": {"pipelines": {"traces": {"receivers": ["replay"],
                                                "exporters": ["otlp"]}}}}
    service = Service(build(raw), ctx)
    assert ctx.host == other
    service.build()
    builder = service.components[(Kind.EXPORTER, "otlp")]._builder
    resource = builder._resources.message(("", ""))
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["host.name"] == \
        "recorded-host"
    local = dict(raw, receivers={"replay": {"path": str(path), "host": "local"}})
    assert Service(build(local), test_context()).context.host != other


def test_malformed_line_is_named_and_stops_cleanly(tmp_path, ctx, caplog):
    path = tmp_path / "rec.jsonl"
    write_recording(path, random_tree(2), ctx.host)
    with open(path, "a") as fh:
        fh.write('{"t": "exit", "pid": "nope"\n')
    receiver, sink = make(ctx, path=str(path))
    receiver.start()
    assert receiver.done.wait(5)
    receiver.shutdown()
    assert len(sink.records) == len(random_tree(2))
    assert any("line 8" in r.getMessage() for r in caplog.records), caplog.text


def test_wrong_format_and_version_are_refused(tmp_path):
    with pytest.raises(recording.RecordingError, match="not an otel-linnix-replay file"):
        recording.read(io.StringIO('{"hello": 1}\n'))
    with pytest.raises(recording.RecordingError, match="unsupported version 99"):
        recording.read(io.StringIO('{"format": "otel-linnix-replay", "version": 99}\n'))


def test_path_is_required():
    with pytest.raises(ConfigError) as info:
        build({"receivers": {"replay": {}}, "exporters": {"debug": {}},
               "service": {"pipelines": {"logs": {"receivers": ["replay"],
                                                  "exporters": ["debug"]}}}})
    assert info.value.lines() == ["receivers.replay: path is a required property"]


def test_planted_secrets_never_reach_an_exporter(tmp_path):
    """A recording with secrets in argv, replayed to the OTLP file exporter: none in the output."""
    from otel_linnix.config import build
    from otel_linnix.service import Service

    tree = ProcessTreeBuilder()
    pid = tree.spawn(1, comm="app", exe="/usr/bin/app",
                     argv=("app", "--password=hunter2", "API_TOKEN=tok-123456789"))
    tree.exit(pid)
    rec = tmp_path / "rec.jsonl"
    write_recording(rec, tree.records(), test_context().host)
    out = tmp_path / "out.jsonl"
    raw = {"receivers": {"replay": {"path": str(rec)}},
           "exporters": {"file": {"path": str(out)}, "debug": {"verbosity": "detailed"}},
           "service": {"pipelines": {s: {"receivers": ["replay"], "exporters": ["file", "debug"]}
                                     for s in ("traces", "logs")}}}
    service = Service(build(raw), test_context())
    service.start()
    time.sleep(0.5)
    service.shutdown(5)
    text = out.read_text()
    assert "--password=***" in text
    assert "hunter2" not in text and "tok-123456789" not in text
