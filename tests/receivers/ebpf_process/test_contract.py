"""The Python mirror of bpf/process_events.h agrees with what the C compiler lays out."""

import os
import subprocess
from pathlib import Path

import pytest

from otel_linnix.receivers.ebpf_process import contract
from otel_linnix.receivers.ebpf_process.decode import Decoder, decode_exit_code, split_args
from otel_linnix.records import OomKill, ProcessExit, ProcessStart

HEADER = Path(__file__).resolve().parents[3] / "bpf" / "process_events.h"


def c_layout(tmp_path) -> dict[str, dict[str, int]]:
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <stdint.h>",
             "typedef uint32_t u32; typedef int32_t s32; typedef uint64_t u64;", f'#include "{HEADER}"',
             "int main(void) {"]
    for name, fields in contract.LAYOUTS.items():
        lines.append(f'printf("{name} size %zu\\n", sizeof(struct {name}));')
        for field, _ in fields:
            lines.append(f'printf("{name} {field} %zu\\n", offsetof(struct {name}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-o", str(exe), str(src)], check=True)
    out: dict[str, dict[str, int]] = {}
    for line in subprocess.run([str(exe)], capture_output=True, text=True).stdout.splitlines():
        name, field, value = line.split()
        out.setdefault(name, {})[field] = int(value)
    return out


def test_python_mirror_matches_the_c_header(tmp_path):
    layout = c_layout(tmp_path)
    for name in contract.LAYOUTS:
        assert layout[name]["size"] == contract.STRUCTS[name].size, name
        for field, offset in contract.offsets(name).items():
            assert layout[name][field] == offset, (name, field)


def test_constants_match_the_header():
    text = HEADER.read_text()
    for const in ("EVENT_FORK", "EVENT_EXEC", "EVENT_EXIT", "EVENT_OOM", "COMM_LEN",
                  "FILENAME_LEN", "ARGS_LEN", "TRACEPARENT_LEN", "TRACESTATE_LEN", "MEMCG_DEPTH",
                  "MEMCG_NAME_LEN", "LOST_RINGBUF", "LOST_LIFETIME", "RESCUED", "LOST_SLOTS"):
        value = int(text.split(f"#define {const} ")[1].split()[0])
        assert getattr(contract, const) == value, const


@pytest.mark.parametrize("raw,expected", [
    (7 << 8, (7, 0, False)),        # exit(7)
    (0, (0, 0, False)),
    (9, (0, 9, False)),             # SIGKILL
    (11 | 0x80, (0, 11, True)),     # SIGSEGV, core dumped
    (255 << 8, (255, 0, False)),
])
def test_exit_code_decoding(raw, expected):
    assert decode_exit_code(raw) == expected


def test_decode_synthetic_records_redacts_and_bounds_argv():
    args = b"\0".join([b"mysql", b"--password=hunter2", b"x" * 100]) + b"\0"
    raw = contract.EXEC.pack(contract.EVENT_EXEC, 42, 1000, len(args), 5, 4, 0, 0, b"", b"", b"mysql",
                             b"/usr/bin/mysql", args)
    fork = contract.FORK.pack(contract.EVENT_FORK, 42, 1, 1000, 1000, 0, 4, 3, 77, b"sh")
    exit_ = contract.EXIT.pack(contract.EVENT_EXIT, 42, 1, 1000, 1000, 9, 4, 3, 10, 1, 2, 77,
                               0, 1, 1, 0, b"mysql")
    decoder = Decoder(argv_max_args=2)
    start, exec_, end = decoder.decode([fork, raw, exit_])
    assert (start.pid, start.ppid, start.comm, start.cgroup_id) == (42, 1, "sh", 77)
    assert exec_.argv == ("mysql", "--password=***") and exec_.argv_truncated
    assert exec_.exe == "/usr/bin/mysql"
    assert (end.signal, end.exit_code, end.exit_ns, end.fork_seen) == (9, 0, 10, True)
    assert split_args(b"a\0b\0\0\0", 4) == ("a", "b")


def test_a_command_line_that_comes_again_decodes_the_same_and_stays_redacted():
    def exec_of(pid, *args):
        raw_args = b"\0".join(args) + b"\0"
        return contract.EXEC.pack(contract.EVENT_EXEC, pid, 1000, len(raw_args), pid, pid, 0,
                                  0, b"", b"", b"curl", b"/usr/bin/curl", raw_args)

    secret = (b"curl", b"https://bob:s3cret@example.com/x")
    long = (b"tool", b"y" * 3000)  # too long to be kept: decoded each time, all the same
    decoder = Decoder()
    records = decoder.decode([exec_of(pid, *argv) for pid, argv in
                              enumerate([secret, long, secret, (b"curl", b"-v"), long], 1)])
    assert [r.pid for r in records] == [1, 2, 3, 4, 5]
    assert records[0].argv == records[2].argv == ("curl", "https://bob:***@example.com/x")
    assert records[1].argv == records[4].argv == ("tool", "y" * 3000)
    assert records[3].argv == ("curl", "-v")


def test_every_exit_and_fork_field_lands_in_its_record_field():
    """The decoder builds records positionally for speed: distinct values per field show that
    each kernel field reaches the record field of the same meaning."""
    raw = contract.EXIT.pack(contract.EVENT_EXIT, 11, 12, 13, 14, (3 << 8), 15, 16, 17, 18, 19,
                             20, 21, 22, 0, 1, b"cmd")
    end, = Decoder().decode([raw])
    assert end == ProcessExit(pid=11, ppid=12, uid=13, gid=14, exit_code=3, signal=0,
                              core_dumped=False, start_ns=15, parent_start_ns=16, exit_ns=17,
                              cpu_user_ns=18, cpu_system_ns=19, cgroup_id=20, threads_created=21,
                              exec_count=22, fork_seen=False, oom_killed=True, comm="cmd")
    killed, = Decoder().decode([contract.EXIT.pack(contract.EVENT_EXIT, *([1] * 4), 0x80 | 11,
                                                   *([1] * 6), 0, 0, 1, 0, b"x")])
    assert (killed.signal, killed.core_dumped, killed.exit_code) == (11, True, 0)
    fork = contract.FORK.pack(contract.EVENT_FORK, 31, 32, 33, 34, 0, 35, 36, 37, b"sh")
    start, = Decoder().decode([fork])
    assert start == ProcessStart(pid=31, ppid=32, uid=33, gid=34, start_ns=35,
                                 parent_start_ns=36, cgroup_id=37, comm="sh")


def _names(*parts: bytes) -> bytes:
    return b"".join(p.ljust(contract.MEMCG_NAME_LEN, b"\0") for p in parts)


def test_oom_record_fields_land_and_the_limited_cgroup_is_named():
    """Names come leaf first; the cgroup named is the one at the level that sets the limit."""
    raw = contract.OOM.pack(contract.EVENT_OOM, 41, 1000, -500, 42, 43, 100, 60, 4, 2, 1, 16384,
                            1, 3, b"hog", _names(b"job-7", b"batch", b"jobs"))
    oom, = Decoder().decode([raw])
    page = os.sysconf("SC_PAGE_SIZE")
    assert oom == OomKill(pid=41, uid=1000, oom_score_adj=-500, ts_ns=42, start_ns=43,
                          total_vm_bytes=100 << 10, anon_rss_bytes=60 << 10,
                          file_rss_bytes=4 << 10, shmem_rss_bytes=2 << 10,
                          pgtables_bytes=1 << 10, comm="hog", memcg="/jobs/batch",
                          memory_limit_bytes=16384 * page)
    deep, = Decoder().decode([contract.OOM.pack(contract.EVENT_OOM, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                                0, 8, 0, 0x100 | 8, b"x",
                                                _names(*[b"l%d" % i for i in range(8)]))])
    assert deep.memcg == "/…/l7/l6/l5/l4/l3/l2/l1/l0"
    host, = Decoder().decode([contract.OOM.pack(contract.EVENT_OOM, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                                0, 0, 0, 2, b"x", _names(b"a", b"b"))])
    assert (host.memcg, host.memory_limit_bytes) == ("", 0)  # no limit anywhere: host-wide


def test_unknown_record_types_are_counted_not_decoded():
    decoder = Decoder()
    assert decoder.decode([b"\x07\x00\x00\x00" + bytes(60), b"\x01\x01\x00\x00" + bytes(60),
                           b"\x03\x00\x00\x00" + bytes(10), b"\x01"]) == []
    assert decoder.unknown == 4
