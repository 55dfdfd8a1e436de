"""Deterministic trace and span ids.

    span id  = blake2b("span" | boot id | pid | start tick)[:8]
    trace id = blake2b("trace" | boot id | tree-root pid | tree-root start tick)[:16]

The boot id makes ids unique across machines and reboots, (pid, start tick) is the process's
identity (records.process_key), and the tree root is the ancestor whose parent is init or
kthreadd (a login session, a service, a container's init): one trace per process tree. So a
child can name its parent's span before that span is exported, two agents never clash, and a
span re-exported after a crash carries the same ids (the backend deduplicates).
"""

from __future__ import annotations

import hashlib

from otel_linnix.records import ProcessKey


def span_id(boot_id: str, key: ProcessKey) -> bytes:
    data = f"span|{boot_id}|{key[0]}|{key[1]}".encode()
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return digest if digest != bytes(8) else b"\x00" * 7 + b"\x01"  # all-zero is invalid


def span_id_hasher(boot_id: str):
    """A blake2b already fed ``span|boot id|``: ``copy()``, ``update(b"pid|tick")``, digest
    gives ``span_id`` at about half the cost (the hot path makes one per lifetime)."""
    return hashlib.blake2b(f"span|{boot_id}|".encode(), digest_size=8)


def trace_id(boot_id: str, root: ProcessKey) -> bytes:
    data = f"trace|{boot_id}|{root[0]}|{root[1]}".encode()
    digest = hashlib.blake2b(data, digest_size=16).digest()
    return digest if digest != bytes(16) else b"\x00" * 15 + b"\x01"


def trace_id_of(table, boot_id: str, key: ProcessKey) -> bytes | None:
    """The trace a live or recently exited process's span is in (an application's trace it
    joined through TRACEPARENT, else its tree's); None when the table does not know it."""
    joined = table.trace_ctx_of(key)
    if joined is not None:
        return bytes.fromhex(joined[0])
    root = table.tree_root_of(key)
    return trace_id(boot_id, root) if root is not None else None
