"""Offsets from bpftool's JSON BTF dump: anonymous members followed, renamed members found by
their alternatives, a missing enumerator is -1, a missing member a clear error."""

import json

import pytest

from otel_linnix.receivers.ebpf_process import btf


def dump(types):
    return json.dumps({"types": types})


def test_offsets_follow_anonymous_members_alternatives_and_enums(monkeypatch):
    types = [
        {"id": 1, "kind": "INT", "name": "int", "size": 4},
        {"id": 2, "kind": "UNION", "name": "(anon)", "vlen": 1,
         "members": [{"name": "arg_start", "type_id": 1, "bits_offset": 64}]},
        {"id": 3, "kind": "STRUCT", "name": "mm_struct", "vlen": 2,
         "members": [{"name": "x", "type_id": 1, "bits_offset": 0},
                     {"name": "(anon)", "type_id": 2, "bits_offset": 256}]},
        {"id": 4, "kind": "STRUCT", "name": "kernfs_node", "vlen": 1,
         "members": [{"name": "parent", "type_id": 1, "bits_offset": 128}]},
        {"id": 5, "kind": "ENUM", "name": "cgroup_subsys_id", "vlen": 1,
         "values": [{"name": "cpu_cgrp_id", "val": 1}]},
    ]
    parsed = btf.parse(dump(types))
    mm = parsed[3]
    assert btf._find_member(parsed, mm, "arg_start") == 32 + 8  # the union at 32, then 8
    monkeypatch.setattr(btf, "NEEDED", {("mm_struct", "arg_start"): "OFF_A",
                                        ("kernfs_node", "__parent|parent"): "OFF_P"})
    monkeypatch.setattr(btf, "_dump", lambda path: dump(types))
    assert btf.offsets() == {"OFF_A": 40, "OFF_P": 16, "MEMORY_CGRP_ID": -1}
    monkeypatch.setattr(btf, "NEEDED", {("kernfs_node", "id"): "OFF_ID"})
    with pytest.raises(btf.BTFError, match="struct kernfs_node has no member id"):
        btf.offsets()


def test_a_dump_that_is_not_json_is_named():
    with pytest.raises(btf.BTFError, match="not JSON"):
        btf.parse("[1] INT 'int' size=4")
