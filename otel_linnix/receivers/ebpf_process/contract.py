"""Python mirror of bpf/process_events.h: the same fields, in the same order, with the same sizes.

tests/receivers/ebpf_process/test_contract.py compiles the header with the C compiler and
checks sizes and offsets against these formats, so the two sides cannot drift apart.
"""

from __future__ import annotations

import struct

EVENT_FORK, EVENT_EXEC, EVENT_EXIT, EVENT_OOM = 1, 2, 3, 4
COMM_LEN, FILENAME_LEN, ARGS_LEN = 16, 256, 4096
TRACEPARENT_LEN, TRACESTATE_LEN = 64, 256
MEMCG_DEPTH, MEMCG_NAME_LEN = 8, 128
LOST_RINGBUF, LOST_LIFETIME, RESCUED, LOST_SLOTS = 0, 1, 2, 3

#: struct name → ordered (field, struct format code) pairs, little-endian, no implicit padding.
LAYOUTS: dict[str, list[tuple[str, str]]] = {
    "fork_event": [
        ("type", "I"), ("pid", "I"), ("ppid", "I"), ("uid", "I"), ("gid", "I"), ("pad", "I"),
        ("start_ns", "Q"), ("parent_start_ns", "Q"), ("cgroup_id", "Q"),
        ("comm", f"{COMM_LEN}s"),
    ],
    "exec_event": [
        ("type", "I"), ("pid", "I"), ("uid", "I"), ("args_len", "I"), ("ts_ns", "Q"),
        ("start_ns", "Q"), ("args_truncated", "I"), ("pad", "I"),
        ("traceparent", f"{TRACEPARENT_LEN}s"), ("tracestate", f"{TRACESTATE_LEN}s"),
        ("comm", f"{COMM_LEN}s"), ("filename", f"{FILENAME_LEN}s"), ("args", f"{ARGS_LEN}s"),
    ],
    "exit_event": [
        ("type", "I"), ("pid", "I"), ("ppid", "I"), ("uid", "I"), ("gid", "I"),
        ("exit_code", "I"), ("start_ns", "Q"), ("parent_start_ns", "Q"), ("exit_ns", "Q"),
        ("utime_ns", "Q"), ("stime_ns", "Q"), ("cgroup_id", "Q"), ("threads", "I"),
        ("execs", "I"), ("fork_seen", "I"), ("oom_killed", "I"), ("comm", f"{COMM_LEN}s"),
    ],
    "oom_event": [
        ("type", "I"), ("pid", "I"), ("uid", "I"), ("oom_score_adj", "i"), ("ts_ns", "Q"),
        ("start_ns", "Q"), ("total_vm_kb", "Q"), ("anon_rss_kb", "Q"), ("file_rss_kb", "Q"),
        ("shmem_rss_kb", "Q"), ("pgtables_kb", "Q"), ("limit_pages", "Q"),
        ("limit_level", "I"), ("memcg_levels", "I"), ("comm", f"{COMM_LEN}s"),
        ("memcg", f"{MEMCG_DEPTH * MEMCG_NAME_LEN}s"),
    ],
}

STRUCTS = {name: struct.Struct("<" + "".join(code for _, code in fields))
           for name, fields in LAYOUTS.items()}
FORK, EXEC, EXIT = STRUCTS["fork_event"], STRUCTS["exec_event"], STRUCTS["exit_event"]
OOM = STRUCTS["oom_event"]
#: An exec record goes out cut after its used argv bytes: everything before ``args`` is fixed.
EXEC_HEAD = struct.Struct("<" + "".join(code for name, code in LAYOUTS["exec_event"]
                                        if name != "args"))


def offsets(name: str) -> dict[str, int]:
    """Byte offset of every field of ``name`` as this mirror lays it out."""
    out, pos = {}, 0
    for field, code in LAYOUTS[name]:
        out[field] = pos
        pos += struct.calcsize("<" + code)
    return out
