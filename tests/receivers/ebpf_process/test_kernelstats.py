"""PSI totals and OOM kill counts → PressureSample records and counters (deltas, bounded)."""

from otel_linnix.receivers.ebpf_process.kernelstats import KernelStats, parse_pressure
from otel_linnix.records import PressureSample
from otel_linnix.testing import test_context
from otel_linnix.testing.telemetry_checks import counted

CPU = "some avg10=1.00 avg60=0.50 avg300=0.10 total={some}\nfull avg10=0.00 avg60=0.00 " \
      "avg300=0.00 total={full}\n"


def test_parse_pressure_reads_the_totals_in_ns():
    assert parse_pressure(CPU.format(some=1500, full=7)) == (1_500_000, 7000)
    assert parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n") == (42_000, 0)
    assert parse_pressure("") is None


def write_psi(root, some, full):
    (root / "pressure").mkdir(exist_ok=True)
    for resource in ("cpu", "memory", "io"):
        (root / "pressure" / resource).write_text(CPU.format(some=some, full=full))


def test_host_pressure_becomes_records_and_stall_seconds(tmp_path):
    ctx = test_context()
    stats = KernelStats(ctx.telemetry, max_cgroups=0, proc_root=str(tmp_path))
    write_psi(tmp_path, some=1_000_000, full=0)
    first = stats.tick(10)
    assert first[0] == PressureSample(10, "cpu", "/", 1_000_000_000, 0)
    assert {s.resource for s in first} == {"cpu", "memory", "io"}
    assert counted(ctx, "otel_linnix.pressure.stall") == 0  # the first reading is the baseline
    write_psi(tmp_path, some=3_500_000, full=250_000)
    stats.tick(20)
    assert counted(ctx, "otel_linnix.pressure.stall", resource="cpu", kind="some",
                   cgroup="/") == 2.5
    assert counted(ctx, "otel_linnix.pressure.stall", resource="io", kind="full") == 0.25


def test_a_watched_memory_cgroups_kills_are_counted(tmp_path):
    ctx = test_context()
    stats = KernelStats(ctx.telemetry, max_cgroups=0, proc_root=str(tmp_path))
    write_psi(tmp_path, 0, 0)
    group = tmp_path / "jobs"
    group.mkdir()
    stats.tick(1)
    # a victim's cgroup, seen between rescans: one kill earlier, and the one just reported
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
    stats.watch_memcg("/jobs", str(group))
    stats.tick(2)
    assert counted(ctx, "otel_linnix.oom.kills", cgroup="/jobs") == 1
    (group / "memory.events").write_text("oom_kill 4\n")
    stats.tick(3)
    assert counted(ctx, "otel_linnix.oom.kills", cgroup="/jobs") == 3
    stats.watch_memcg("/gone", str(tmp_path / "gone"))  # removed already: nothing to count
    stats.tick(4)
    assert counted(ctx, "otel_linnix.oom.kills", cgroup="/gone") == 0
