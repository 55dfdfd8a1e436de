"""TRACEPARENT in a process's environment joins its span to the application's trace: the real
kernel, the real agent pipeline, a real OTLP gRPC receiver."""

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from otel_linnix.config import build
from otel_linnix.exporters.otlpcommon.ids import span_id
from otel_linnix.receivers.ebpf_process.decode import Decoder
from otel_linnix.receivers.ebpf_process.loader import Probe
from otel_linnix.records import ProcessExec, process_key
from otel_linnix.service import Service
from otel_linnix.testing import test_context
from otel_linnix.testing.otlp_server import OTLPServer, attributes

pytestmark = pytest.mark.bpf

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
SECRET = "s3cr3t-token-value-never-exported"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "traced-app" / "app.py"


@pytest.fixture
def server():
    srv = OTLPServer()
    yield srv
    srv.stop()


@contextmanager
def agent(server, **receiver):
    """The agent's own pipeline in this process: eBPF → OTLP gRPC → the test's receiver."""
    port = server.start_grpc()
    otlp = {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True},
            "spool": {"enabled": False}, "batch": {"timeout": "50ms"},
            "logs": {"exec_events": True, "exit_events": True}}
    raw = {"receivers": {"ebpf_process": receiver}, "exporters": {"otlp": otlp},
           "service": {"pipelines": {
               "traces": {"receivers": ["ebpf_process"], "exporters": ["otlp"]},
               "logs": {"receivers": ["ebpf_process"], "exporters": ["otlp"]}}}}
    service = Service(build(raw), test_context())
    service.start()
    try:
        yield service.context, port
    finally:
        service.shutdown(5)


attrs = attributes


def spans_of(server, pid, timeout=20.0):
    return server.spans_of(pid, timeout)


def children_of(server, parent_span, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [s for s in server.spans() if s.parent_span_id == parent_span.span_id]
        if found:
            return found
        time.sleep(0.05)
    return []


def env_with(**extra):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}


def traceparent_counts(ctx):
    return {dict(p.labels)["result"]: p.value
            for p in ctx.telemetry.get("otel_linnix.receiver.traceparent").points()}


def test_a_shell_started_with_traceparent_and_its_child_join_that_trace(server):
    probe = Probe(256, 65536)  # a second reader of the same tracepoints: the raw kernel payload
    try:
        with agent(server) as (ctx, _):
            proc = subprocess.Popen(["sh", "-c", "ls / >/dev/null; exit 3"], env=env_with(
                TRACEPARENT=f"00-{TRACE}-{PARENT}-01", TRACESTATE="rojo=00f067aa0ba902b7",
                SECRET_TOKEN=SECRET))
            assert proc.wait(10) == 3
            [sh] = spans_of(server, proc.pid)
            [ls] = children_of(server, sh)
            counts = traceparent_counts(ctx)
        raw = probe.read()
    finally:
        probe.close()
    assert sh.trace_id.hex() == TRACE and sh.parent_span_id.hex() == PARENT
    assert sh.trace_state == "rojo=00f067aa0ba902b7"
    assert attrs(sh)["process.exit.code"] == {"intValue": "3"}
    assert sh.status.code == sh.status.STATUS_CODE_ERROR
    assert ls.trace_id.hex() == TRACE, "a descendant stays in the trace"
    assert ls.name == "ls" and attrs(ls)["process.parent_pid"] == {"intValue": str(proc.pid)}
    assert counts.get("joined", 0) >= 2  # sh and ls both carried it (ls by inheritance)
    # the planted secret is nowhere: not in any request the backend got, nor in the kernel's
    # records (where the TRACEPARENT value itself is, so the search could have found it)
    received = b"".join(r.SerializeToString() for r in server.received.traces + server.received.logs)
    assert SECRET.encode() not in received
    assert any(TRACE.encode() in r for r in raw)
    assert not any(SECRET.encode() in r for r in raw)


def _filler_before(offset: int) -> dict[str, str]:
    """One entry that makes the next one start ``offset`` bytes into the environment's
    strings (each entry is KEY=VALUE and a NUL)."""
    return {"F": "x" * (offset - len("F=") - 1)}


# The kernel side copies the environment's pointers a chunk at a time and its strings into a
# buffer of a few KiB, and reads a key from the process itself where the buffer ends: a key
# after many chunks and look-alike keys, far past the buffer, or cut by its end (wherever,
# among the likely sizes, that end is) must still be found.
ENVIRONMENTS = {
    "after 100 entries and look-alikes": {
        **{f"V{i}": str(i) for i in range(100)}, "TRACEPARENT_NOT": f"00-{'f' * 32}-{'f' * 16}-01",
        "TRACESTATEX": "no=1", "X": f"TRACEPARENT=00-{'e' * 32}-{'e' * 16}-01"},
    "past the copied strings": {"F": "x" * 20000},
    **{f"cut at {size}": _filler_before(size - 6) for size in (4096, 8192, 16384)},
    "state first, far apart": {"TRACESTATE": "rojo=1", **_filler_before(9000)},
}


@pytest.mark.parametrize("where", ENVIRONMENTS)
def test_the_kernel_finds_trace_context_wherever_it_lies_in_the_environment(where):
    env = dict(ENVIRONMENTS[where])
    env.setdefault("TRACEPARENT", f"00-{TRACE}-{PARENT}-01")
    env.setdefault("TRACESTATE", "rojo=00f067aa0ba902b7")
    probe = Probe(256, 65536)
    try:
        with_context = subprocess.Popen(["/bin/true"], env=env)
        bare = subprocess.Popen(["/bin/true"], env={})
        with_context.wait(10), bare.wait(10)
        execs = {r.pid: r for r in probe.consume(Decoder().decode) if type(r) is ProcessExec}
    finally:
        probe.close()
    found = execs[with_context.pid]
    assert (found.traceparent, found.tracestate) == (env["TRACEPARENT"], env["TRACESTATE"])
    assert (execs[bare.pid].traceparent, execs[bare.pid].tracestate) == ("", "")


def _on_cpu(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu})


def _scratch_values(cpu: int) -> list[bytes]:
    """Every CPU's value of every loaded ``env_scratch`` map, as bpftool dumps them (bpftool
    itself exec'd on ``cpu``: its own environment lands in that CPU's scratch)."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "name", "env_scratch"],
                         capture_output=True, text=True, check=True,
                         preexec_fn=_on_cpu(cpu)).stdout
    found: list[bytes] = []

    def walk(node):
        if isinstance(node, dict) and "values" in node:
            found.extend(bytes(int(b, 16) for b in v["value"]) for v in node["values"])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(out))
    return found


@pytest.mark.skipif(shutil.which("bpftool") is None or len(os.sched_getaffinity(0)) < 2,
                    reason="needs bpftool and two CPUs")
def test_the_environment_copied_for_the_scan_is_wiped_from_the_kernel_map():
    # The secret's exec on one CPU, bpftool's on another: nothing of ours execs on the first
    # in between, so without the wipe its scratch would still hold the secret.
    first, other = sorted(os.sched_getaffinity(0))[:2]
    probe = Probe(256, 65536)
    try:
        subprocess.run(["/bin/true"], env={"SECRET_TOKEN": SECRET, "PATH": "/bin"}, timeout=10,
                       check=True, preexec_fn=_on_cpu(first))
        values = _scratch_values(other)
    finally:
        probe.close()
    used = [v for v in values if int.from_bytes(v[8:16], "little")]  # ``copied``: it scanned
    assert used, "no CPU's scratch shows a scan"
    assert not any(SECRET.encode() in v for v in values)


@pytest.mark.parametrize("value", [
    f"00-{TRACE[:-2]}-{PARENT}-01",                  # wrong length
    f"00-{'g' * 32}-{PARENT}-01",                    # not hex
    f"00-{'0' * 32}-{PARENT}-01",                    # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",                     # all-zero parent id
    f"ff-{TRACE}-{PARENT}-01",                       # version ff is never valid
    f"00-{TRACE}-{PARENT}-01-" + "x" * 1000,         # 1 KiB long
])
def test_a_malformed_traceparent_is_counted_and_ignored(server, value):
    with agent(server) as (ctx, _):
        proc = subprocess.Popen(["sh", "-c", "exit 0"], env=env_with(TRACEPARENT=value))
        proc.wait(10)
        [span] = spans_of(server, proc.pid)
        counts = traceparent_counts(ctx)
    assert span.trace_id.hex() != TRACE
    me = ctx.process_table.get(os.getpid())
    assert span.parent_span_id == span_id(ctx.host.boot_id, process_key(os.getpid(),
                                                                          me.start_ns))
    assert counts.get("malformed", 0) >= 1 and counts.get("joined", 0) == 0


def test_an_unsampled_context_keeps_the_process_tree_trace_unless_told_otherwise(server):
    unsampled = f"00-{TRACE}-{PARENT}-00"
    with agent(server) as (ctx, _):
        kept = subprocess.Popen(["sh", "-c", "exit 0"], env=env_with(TRACEPARENT=unsampled))
        kept.wait(10)
        [span] = spans_of(server, kept.pid)
        assert traceparent_counts(ctx).get("unsampled", 0) >= 1
    assert span.trace_id.hex() != TRACE
    with agent(server, traceparent={"respect_sampled": False}):
        joined = subprocess.Popen(["sh", "-c", "exit 0"], env=env_with(TRACEPARENT=unsampled))
        joined.wait(10)
        [span] = spans_of(server, joined.pid)
    assert span.trace_id.hex() == TRACE and span.parent_span_id.hex() == PARENT


def test_the_example_app_request_span_holds_the_processes_it_spawned(server):
    with agent(server) as (_, port):
        app = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "0"], stdout=subprocess.PIPE, text=True,
            env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                 "OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_BSP_SCHEDULE_DELAY": "100"})
        try:
            app_port = int(app.stdout.readline().split()[-1])
            import httpx

            reply = httpx.get(f"http://127.0.0.1:{app_port}/report", timeout=10)
            assert reply.status_code == 200
        finally:
            app.terminate()
            app.wait(10)
        request = _wait_for_span_named(server, "GET /report")
        processes = _wait_for_trace(server, request.trace_id, at_least=3)
    names = {s.name for s in processes}
    assert {"GET /report", "sh", "uname"} <= names, names
    [sh] = [s for s in processes if s.name == "sh"]
    assert sh.parent_span_id == request.span_id, "the shell hangs under the request span"
    [uname] = [s for s in processes if s.name == "uname"]
    assert uname.parent_span_id == sh.span_id


def _wait_for_span_named(server, name, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for span in server.spans():
            if span.name == name:
                return span
        time.sleep(0.05)
    raise AssertionError(f"no span {name!r} arrived")


def _wait_for_trace(server, trace_id, at_least, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [s for s in server.spans() if s.trace_id == trace_id]
        if len(found) >= at_least and any(s.name == "uname" for s in found):
            return found
        time.sleep(0.1)
    return [s for s in server.spans() if s.trace_id == trace_id]
