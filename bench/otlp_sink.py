"""The OTLP receiver the benchmark exports to, run as its own process (``python -m bench.otlp_sink``).

It is the project's test OTLP server, keeping only what the benchmark measures so a 200k-span
storm fits in memory: per span (pid, parent pid, start, end, receive wall time) and per alert
log record (rule, state, time, receive wall time). It prints its gRPC port, then answers
commands on stdin, one JSON line each on stdout:

  ``stats``      → {"spans": n, "logs": n}
  ``dump PATH``  → writes everything kept so far to PATH as JSON, answers {"ok": true}
"""

from __future__ import annotations

import json
import sys
import threading
import time

from opentelemetry.semconv._incubating.attributes.process_attributes import (
    PROCESS_PARENT_PID,
    PROCESS_PID,
)

from otel_linnix.testing.otlp_server import OTLPServer

RULE_ATTR = "otel_linnix.alert.rule"
STATE_ATTR = "otel_linnix.alert.state"


def _attrs(attributes, wanted: set[str]) -> dict:
    found = {}
    for kv in attributes:
        if kv.key in wanted:
            value = kv.value
            found[kv.key] = value.int_value if value.HasField("int_value") else \
                value.string_value
            if len(found) == len(wanted):
                break
    return found


class CompactServer(OTLPServer):
    """Keeps a compact row per span / alert log instead of whole requests."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1")
        self.span_rows: list[tuple] = []
        self.log_rows: list[tuple] = []
        #: Span requests as received, made rows when asked (``stats``, ``dump``): the agent
        #: is measured while it exports, and the sink's Python row-making, some 3 µs a span,
        #: would compete with the workload on a saturated host as if it were the agent's.
        self._pending: list[tuple] = []
        self._rows_lock = threading.Lock()

    def _accept(self, kind: str, request, *_context) -> None:
        """The base server's hook for an accepted request (it may pass more, e.g. headers)."""
        received = time.time_ns()
        if kind == "traces":
            with self._rows_lock:
                self._pending.append((request, received))
        elif kind == "logs":
            rows = []
            for rl in request.resource_logs:
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        a = _attrs(rec.attributes, {RULE_ATTR, STATE_ATTR})
                        if RULE_ATTR in a:
                            rows.append((a[RULE_ATTR], a.get(STATE_ATTR, ""),
                                         rec.time_unix_nano, received))
            with self._rows_lock:
                self.log_rows.extend(rows)
        return None

    @staticmethod
    def _span_row(span, received: int) -> tuple:
        a = _attrs(span.attributes, {PROCESS_PID, PROCESS_PARENT_PID})
        return (a.get(PROCESS_PID, 0), a.get(PROCESS_PARENT_PID, 0), span.start_time_unix_nano,
                span.end_time_unix_nano, received)

    def _made_rows(self) -> None:
        """The pending requests' rows (under the rows lock)."""
        pending, self._pending = self._pending, []
        self.span_rows.extend(self._span_row(s, received) for request, received in pending
                              for rs in request.resource_spans for ss in rs.scope_spans
                              for s in ss.spans)

    def stats(self) -> dict:
        with self._rows_lock:
            self._made_rows()
            return {"spans": len(self.span_rows), "logs": len(self.log_rows)}

    def dump(self, path: str) -> None:
        with self._rows_lock:
            self._made_rows()
            data = {"spans": list(self.span_rows), "logs": list(self.log_rows)}
        with open(path, "w") as out:
            json.dump(data, out)


def main() -> int:
    server = CompactServer()
    port = server.start_grpc(0)
    print(json.dumps({"port": port}), flush=True)
    try:
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "stats":
                answer = server.stats()
            elif cmd == "dump":
                server.dump(arg)
                answer = {"ok": True}
            elif cmd == "quit":
                break
            else:
                answer = {"error": f"unknown command {cmd!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
