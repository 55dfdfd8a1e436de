"""Struct field offsets of the *running* kernel, read from its BTF.

Installed kernel headers do not match the running kernel's layouts (task_struct differs between
builds), so the BPF program reads fields at offsets resolved here and passed in as constants.
``bpftool -j btf dump ... format raw`` lists every type as JSON (id, kind, name, members with
type ids and bit offsets, enum values); members of anonymous structs/unions are followed, so
fields nested in them (mm_struct's arg_start, ...) are found too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"

#: (struct, dotted member path) → the -D name the BPF program uses.
NEEDED = {
    ("task_struct", "pid"): "OFF_TASK_PID",
    ("task_struct", "tgid"): "OFF_TASK_TGID",
    ("task_struct", "real_parent"): "OFF_TASK_REAL_PARENT",
    ("task_struct", "group_leader"): "OFF_TASK_GROUP_LEADER",
    ("task_struct", "start_boottime"): "OFF_TASK_START_BOOTTIME",
    ("task_struct", "cred"): "OFF_TASK_CRED",
    ("task_struct", "mm"): "OFF_TASK_MM",
    ("task_struct", "comm"): "OFF_TASK_COMM",
    ("task_struct", "exit_code"): "OFF_TASK_EXIT_CODE",
    ("task_struct", "utime"): "OFF_TASK_UTIME",
    ("task_struct", "stime"): "OFF_TASK_STIME",
    ("cred", "uid"): "OFF_CRED_UID",
    ("cred", "gid"): "OFF_CRED_GID",
    ("mm_struct", "arg_start"): "OFF_MM_ARG_START",
    ("mm_struct", "arg_end"): "OFF_MM_ARG_END",
    ("mm_struct", "start_stack"): "OFF_MM_START_STACK",
    ("mm_struct", "env_start"): "OFF_MM_ENV_START",
    ("mm_struct", "env_end"): "OFF_MM_ENV_END",
    # task → its memory cgroup (task->cgroups->subsys[memory]), that cgroup's limits up the
    # hierarchy (mem_cgroup.memory → page_counter.max / .parent) and its directory names
    # (css.cgroup->kn, kernfs_node name / parent; "parent" became "__parent" in 6.13)
    ("task_struct", "cgroups"): "OFF_TASK_CGROUPS",
    ("css_set", "subsys"): "OFF_CSS_SET_SUBSYS",
    ("cgroup_subsys_state", "cgroup"): "OFF_CSS_CGROUP",
    ("cgroup", "kn"): "OFF_CGROUP_KN",
    ("kernfs_node", "name"): "OFF_KERNFS_NODE_NAME",
    ("kernfs_node", "__parent|parent"): "OFF_KERNFS_NODE_PARENT",
    ("mem_cgroup", "memory"): "OFF_MEMCG_MEMORY",
    ("page_counter", "max"): "OFF_PAGE_COUNTER_MAX",
    ("page_counter", "parent"): "OFF_PAGE_COUNTER_PARENT",
    # a process's pid as the agent's own pid namespace numbers it (a sidecar sharing a
    # workload's namespace): task->thread_pid->numbers[level] {nr, ns}, ns->ns.inum
    ("task_struct", "thread_pid"): "OFF_TASK_THREAD_PID",
    ("pid", "level"): "OFF_PID_LEVEL",
    ("pid", "numbers"): "OFF_PID_NUMBERS",
    ("upid", "nr"): "OFF_UPID_NR",
    ("upid", "ns"): "OFF_UPID_NS",
    ("pid_namespace", "ns"): "OFF_PIDNS_NS",
    ("ns_common", "inum"): "OFF_NS_COMMON_INUM",
}
#: (enum, enumerator) → the -D name; -1 when the kernel lacks it (a controller compiled out).
ENUM_VALUES = {("cgroup_subsys_id", "memory_cgrp_id"): "MEMORY_CGRP_ID"}


class BTFError(RuntimeError):
    pass


@dataclass
class _Type:
    kind: str
    name: str
    ref: int = 0
    members: list[tuple[str, int, int]] = field(default_factory=list)  # name, type id, bit offset
    values: dict[str, int] = field(default_factory=dict)  # an enum's enumerators


def _dump(path: str) -> str:
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    try:
        proc = subprocess.run([bpftool, "-j", "btf", "dump", "file", path, "format", "raw"],
                              capture_output=True, text=True, timeout=60, check=True)
    except FileNotFoundError:
        raise BTFError("bpftool not found (install Debian's bpftool: make setup does)") from None
    except subprocess.CalledProcessError as exc:
        raise BTFError(f"bpftool could not read {path}: {exc.stderr.strip()}") from None
    return proc.stdout


def parse(text: str) -> dict[int, _Type]:
    """Types by id from bpftool's JSON dump."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BTFError(f"bpftool's BTF dump is not JSON: {exc}") from None
    types: dict[int, _Type] = {}
    for raw in doc.get("types", ()):
        types[raw["id"]] = _Type(
            raw["kind"], raw.get("name", ""), raw.get("type_id", 0),
            [(m.get("name", "(anon)"), m["type_id"], m["bits_offset"])
             for m in raw.get("members", ())],
            {v["name"]: v["val"] for v in raw.get("values", ())})
    return types


def _strip(types: dict[int, _Type], type_id: int) -> _Type:
    t = types[type_id]
    while t.kind in ("CONST", "VOLATILE", "TYPEDEF", "RESTRICT", "TYPE_TAG") and t.ref:
        t = types[t.ref]
    return t


def _find_member(types: dict[int, _Type], struct: _Type, name: str) -> int | None:
    """Byte offset of ``name`` in ``struct``, looking through anonymous members."""
    for member, type_id, bits in struct.members:
        if member == name:
            return bits // 8
        if member == "(anon)":
            inner = _strip(types, type_id)
            if inner.kind in ("STRUCT", "UNION"):
                found = _find_member(types, inner, name)
                if found is not None:
                    return bits // 8 + found
    return None


def offsets(path: str = VMLINUX_BTF) -> dict[str, int]:
    """The ``-D`` constants the BPF program needs, for the kernel whose BTF is at ``path``."""
    types = parse(_dump(path))
    structs: dict[str, _Type] = {}
    for t in types.values():
        if t.kind == "STRUCT" and t.members and t.name not in structs:
            structs[t.name] = t
    out: dict[str, int] = {}
    for (struct_name, member), const in NEEDED.items():
        struct = structs.get(struct_name)
        if struct is None:
            raise BTFError(f"kernel BTF has no struct {struct_name}")
        offset = next((found for name in member.split("|")
                       if (found := _find_member(types, struct, name)) is not None), None)
        if offset is None:
            raise BTFError(f"kernel BTF: struct {struct_name} has no member {member}")
        out[const] = offset
    enums = {t.name: t for t in types.values() if t.kind in ("ENUM", "ENUM64") and t.values}
    for (enum, name), const in ENUM_VALUES.items():
        out[const] = enums[enum].values.get(name, -1) if enum in enums else -1
    return out
