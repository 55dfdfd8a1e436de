"""An agent in a pid namespace of its own (a sidecar sharing its workload's) reports pids as
that namespace numbers them, the numbers its /proc shows, and nothing from outside it."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.bpf

# Runs as pid 1 of a new pid namespace (with its own /proc): the receiver, a child that exits 3
# and prints its own pid, while the host forks outside.
INSIDE = textwrap.dedent("""
    import json, os, subprocess, time
    from otel_linnix.records import ProcessExit, ProcessStart
    from otel_linnix.testing.live import live_receiver
    with live_receiver(sample_interval="200ms") as (receiver, sink, ctx):
        child = subprocess.run(["sh", "-c", "echo $$; exit 3"], capture_output=True, text=True)
        sink.wait_for(lambda recs: any(type(r) is ProcessExit and r.exit_code == 3
                                       for r in recs), 10)
        time.sleep(0.5)
        table = sorted(p.pid for p in ctx.process_table.snapshot())
    print(json.dumps({
        "me": os.getpid(), "child": int(child.stdout), "table": table,
        "pids": sorted({r.pid for r in sink.records if type(r) in (ProcessStart, ProcessExit)}),
        "exits": [[r.pid, r.ppid, r.exit_code] for r in sink.records
                  if type(r) is ProcessExit]}))
""")


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare(1)")
def test_pids_are_the_namespaces_own_and_the_host_is_not_seen():
    outside = subprocess.Popen(["sh", "-c", "for i in $(seq 200); do /bin/true; done"])
    result = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                             INSIDE], capture_output=True, text=True, timeout=120)
    outside.wait()
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["me"] == 1
    # the child's exit: its pid as it saw itself, its parent the namespace's pid 1
    assert [seen["child"], 1, 3] in seen["exits"]
    # nothing from the host's 200 forks: every pid reported is one of this namespace's few
    assert max(seen["pids"]) < 100, seen["pids"]
    assert all(pid < 100 for pid in seen["table"]), seen["table"]
