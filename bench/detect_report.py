"""Scoring a detection run: precision, recall, latency and lead time, as a table with targets.

An alert counts when it is ``warning`` or ``critical`` (``info`` is context, not a page). A true
positive is such an alert, during a trouble item, that names the item's culprit; everything else
that pages — any alert on benign work, or one naming the wrong process — is a false positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGING = ("warning", "critical")


@dataclass
class Outcome:
    """What one corpus item did under the agent."""

    item: str
    kind: str                      # "benign" | "trouble"
    #: Firing alerts: rule, severity, pid, t (first seen, boot ns), message.
    alerts: list[dict] = field(default_factory=list)
    #: The pid an alert must name (or any of several: CPU pressure's workers).
    culprit: int | list[int] | None = None
    rules: tuple[str, ...] = ()
    onset_t: int | None = None
    failure_t: int | None = None
    latency_target_s: float | None = None
    #: What latency is measured from: "onset", or "failure" (an OOM kill is reported after it).
    latency_from: str = "onset"
    seconds: float = 0.0
    processes: int = 0
    error: str = ""


def paging(outcome: Outcome) -> list[dict]:
    return [a for a in outcome.alerts if a["severity"] in PAGING]


def true_positives(outcome: Outcome) -> list[dict]:
    if outcome.kind != "trouble":
        return []
    culprits = outcome.culprit if isinstance(outcome.culprit, list) else [outcome.culprit]
    return [a for a in paging(outcome) if a["pid"] in culprits]


def caught(outcome: Outcome) -> dict | None:
    """The first paging alert of an expected rule naming the culprit."""
    hits = [a for a in true_positives(outcome) if a["rule"] in outcome.rules]
    return min(hits, key=lambda a: a["t"]) if hits else None


def summary(outcomes: list[Outcome]) -> dict:
    ran = [o for o in outcomes if not o.error]
    pages = sum(len(paging(o)) for o in ran)
    tps = sum(len(true_positives(o)) for o in ran)
    troubles = [o for o in ran if o.kind == "trouble"]
    return {"paging_alerts": pages, "true_positives": tps, "false_positives": pages - tps,
            "precision": round(tps / pages, 3) if pages else None,
            "recall": round(sum(1 for o in troubles if caught(o)) / len(troubles), 3)
            if troubles else None,
            "benign_paging": sum(len(paging(o)) for o in ran if o.kind == "benign"),
            "errors": [f"{o.item}: {o.error}" for o in outcomes if o.error]}


def row(outcome: Outcome) -> list[str]:
    if outcome.error:
        return [outcome.kind, outcome.item, "not run", outcome.error[:60], "", ""]
    if outcome.kind == "benign":
        pages = paging(outcome)
        found = ", ".join(sorted({f"{a['rule']} ({a['severity']})" for a in pages})) or "none"
        return ["benign", outcome.item, found, "0 paging alerts",
                "met" if not pages else "MISSED", _size(outcome)]
    hit = caught(outcome)
    if hit is None:
        wrong = paging(outcome)
        got = f"missed ({len(wrong)} paging, wrong subject)" if wrong else "missed"
        return ["trouble", outcome.item, got, _target(outcome), "MISSED", _size(outcome)]
    return ["trouble", outcome.item, _figure(outcome, hit), _target(outcome),
            "met" if _met(outcome, hit) else "MISSED", _size(outcome)]


def _size(outcome: Outcome) -> str:
    return f"{outcome.seconds:.0f}s, {outcome.processes} processes"


def _reference(outcome: Outcome) -> int | None:
    return outcome.failure_t if outcome.latency_from == "failure" else outcome.onset_t


def _figure(outcome: Outcome, hit: dict) -> str:
    text = f"{hit['rule']} {hit['severity']}, culprit pid {hit['pid']}"
    if _reference(outcome) is not None:
        text += f", {(hit['t'] - _reference(outcome)) / 1e9:.2f}s after {outcome.latency_from}"
    if outcome.failure_t is not None and outcome.latency_target_s is None:
        text += f", {(outcome.failure_t - hit['t']) / 1e9:.1f}s before the limit"
    return text


def _target(outcome: Outcome) -> str:
    if outcome.latency_target_s is not None:
        return f"culprit named, <= {outcome.latency_target_s:g}s after {outcome.latency_from}"
    if outcome.failure_t is not None or outcome.item.endswith(("leak", "flood")):
        return "culprit named, before the limit bites"
    return "culprit named"


def _met(outcome: Outcome, hit: dict) -> bool:
    if outcome.latency_target_s is not None and _reference(outcome) is not None:
        return (hit["t"] - _reference(outcome)) / 1e9 <= outcome.latency_target_s
    if outcome.failure_t is not None and outcome.latency_target_s is None:
        return hit["t"] < outcome.failure_t
    return True


def table(outcomes: list[Outcome]) -> str:
    lines = ["| corpus | item | measured (paging alerts) | target | | ran |",
             "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row(o)) + " |" for o in outcomes]
    s = summary(outcomes)
    lines += ["", f"Precision {_pct(s['precision'])} ({s['true_positives']} of "
              f"{s['paging_alerts']} paging alerts name a real culprit; target 100%), "
              f"recall {_pct(s['recall'])} (target 100%), "
              f"{s['benign_paging']} paging alerts on benign work (target 0)."]
    if s["errors"]:
        lines.append("Not run: " + "; ".join(s["errors"]))
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
