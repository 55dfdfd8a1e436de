"""Terminal rendering of API answers: tables, indented trees, one-line events and alerts."""

from __future__ import annotations


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f}{unit}"
        value /= 1024
    return f"{value:.1f}TiB"


def process_table(procs: list[dict]) -> str:
    rows = [("PID", "PPID", "UID", "CPU(s)", "RSS", "FDS", "COMMAND")]
    for p in procs:
        s = p.get("sample") or {}
        rows.append((str(p["pid"]), str(p["ppid"]), str(p["uid"]),
                     f"{s['cpu_seconds']:.2f}" if s else "-", human_bytes(s.get("rss_bytes")),
                     str(s.get("fds", "-")), " ".join(p["argv"])[:80] or p["comm"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)


def tree(graph: dict) -> str:
    nodes = {n["pid"]: n for n in graph["nodes"]}
    children: dict[int, list[int]] = {}
    for e in graph["edges"]:
        children.setdefault(e["from"], []).append(e["to"])
    targets = {e["to"] for e in graph["edges"]}
    roots = [pid for pid in nodes if pid not in targets]
    lines: list[str] = []

    def walk(pid: int, depth: int) -> None:
        n = nodes[pid]
        mark = " <==" if n["role"] == "self" else ""
        lines.append(f"{'  ' * depth}{pid} {n['comm']} {' '.join(n['argv'])[:60]}{mark}".rstrip())
        for child in sorted(children.get(pid, [])):
            walk(child, depth + 1)

    for root in sorted(roots):
        walk(root, 0)
    return "\n".join(lines)


def event(name: str, e: dict) -> str:
    if name == "exit":
        how = f"signal {e['signal']}" if e.get("signal") else f"code {e.get('exit_code')}"
        return f"{e['time']} exit  {e['pid']:>7} {e['comm']} ({how}, {e['duration_ms']:.1f} ms)"
    if name == "exec":
        return f"{e['time']} exec  {e['pid']:>7} {' '.join(e['argv'])[:100]}"
    return f"{e['time']} fork  {e['pid']:>7} <- {e.get('ppid')} {e['comm']}"


def alert(a: dict) -> str:
    subject = f"pid {a['subject']['pid']} {a['subject']['comm']}" if a["subject"]["pid"] else "host"
    line = f"{a['last_seen']} [{a['severity']}] {a['rule']} {a['state']}: {subject}: {a['message']}"
    if a.get("annotation") and a["annotation"].get("summary"):
        line += f"\n    {a['annotation']['summary']}"
    return line
