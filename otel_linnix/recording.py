"""The replay format: JSON lines of records, versioned. ``record`` writes it, ``replay`` reads it.

Line 1 is a header naming the format, its version and the host the records came from::

    {"format": "otel-linnix-replay", "version": 1, "host": {"boot_id": ..., ...}}

Every further line is one record: ``{"t": "start" | "exec" | "exit" | "sample" | "alert", ...}``
with the record's dataclass fields (timestamps in CLOCK_BOOTTIME ns, argv as a list).
A reader rejects unknown versions and names the line of any malformed record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import IO, Any

from otel_linnix.host import HostInfo
from otel_linnix.records import (
    Alert,
    AlertSubject,
    OomKill,
    PressureSample,
    ProcessExec,
    ProcessExit,
    ProcessSample,
    ProcessStart,
    Record,
    unfolded,
)

FORMAT = "otel-linnix-replay"
VERSION = 1

_TAGS: dict[type, str] = {
    ProcessStart: "start",
    ProcessExec: "exec",
    ProcessExit: "exit",
    ProcessSample: "sample",
    OomKill: "oom",
    PressureSample: "pressure",
    Alert: "alert",
}
_TYPES = {tag: cls for cls, tag in _TAGS.items()}
#: How the receiver carried a record, not what happened: a recording holds records unfolded.
_CARRIAGE = {"fork_folded", "execs_folded", "fork_comm"}
#: Fields earlier versions wrote, still read: a recording made then replays as it did.
_WRITTEN_BEFORE: dict[type, set[str]] = {ProcessExit: {"fork_folded"}}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls) if f.name not in _CARRIAGE)
           for cls in _TAGS}


class RecordingError(ValueError):
    pass


def header(host: HostInfo) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "host": dataclasses.asdict(host)}


def encode(record: Record) -> str:
    cls = type(record)
    obj: dict[str, Any] = {"t": _TAGS[cls]}
    for name in _FIELDS[cls]:
        value = getattr(record, name)
        if isinstance(value, AlertSubject):
            value = dataclasses.asdict(value)
        obj[name] = value
    return json.dumps(obj, separators=(",", ":"))


def decode(obj: dict[str, Any]) -> Record:
    tag = obj.get("t")
    cls = _TYPES.get(tag)  # type: ignore[arg-type]
    if cls is None:
        raise RecordingError(f"unknown record type {tag!r}")
    kwargs = {k: v for k, v in obj.items() if k != "t"}
    unknown = set(kwargs) - set(_FIELDS[cls]) - _WRITTEN_BEFORE.get(cls, set())
    if unknown:
        raise RecordingError(f"unknown field(s) for {tag}: {', '.join(sorted(unknown))}")
    _lists_as_tuples(kwargs)
    if cls is Alert and isinstance(kwargs.get("subject"), dict):
        kwargs["subject"] = AlertSubject(**_lists_as_tuples(dict(kwargs["subject"])))
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RecordingError(f"bad {tag} record: {exc}") from None


def _lists_as_tuples(fields: dict[str, Any]) -> dict[str, Any]:
    """JSON has no tuples, and no record field is a list (argv, tree_root, trace_ctx ...)."""
    for name, value in fields.items():
        if type(value) is list:
            fields[name] = tuple(value)
    return fields


class Writer:
    """Appends records to a text stream; the header goes first."""

    def __init__(self, stream: IO[str], host: HostInfo) -> None:
        self._stream = stream
        self._stream.write(json.dumps(header(host)) + "\n")

    def write(self, records) -> None:
        self._stream.write("".join(encode(r) + "\n" for r in unfolded(records)))

    def flush(self) -> None:
        self._stream.flush()


def read_header(line: str) -> dict[str, Any]:
    try:
        head = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"line 1: not a replay header: {exc.msg}") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise RecordingError(f"line 1: not an {FORMAT} file")
    if head.get("version") != VERSION:
        raise RecordingError(f"line 1: unsupported version {head.get('version')!r} "
                             f"(this build reads {VERSION})")
    return head


def read(stream: IO[str]) -> tuple[dict[str, Any], Iterator[Record]]:
    """Returns the header and an iterator of records; errors name the line."""
    first = stream.readline()
    head = read_header(first)

    def records() -> Iterator[Record]:
        for lineno, line in enumerate(stream, start=2):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise RecordingError("not a JSON object")
                yield decode(obj)
            except (json.JSONDecodeError, RecordingError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise RecordingError(f"line {lineno}: {msg}") from None

    return head, records()


def host_of(path: str) -> HostInfo | None:
    """The host a recording was made on (None: the file has no usable host, or is unreadable;
    the replay receiver reports a bad file when it is created)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return host_from_header(read_header(fh.readline()))
    except (OSError, RecordingError):
        return None


def host_from_header(head: dict[str, Any]) -> HostInfo | None:
    host = head.get("host")
    if not isinstance(host, dict):
        return None
    try:
        return HostInfo(**host)
    except TypeError:
        return None
