"""A plain rule-based explanation, used whenever the model's answer is unusable or not asked."""

from __future__ import annotations

from otel_linnix.records import Alert

_CAUSES = {
    "fork_storm": "a process is creating children in a tight loop (a fork bomb or a runaway "
                  "script)",
    "fork_burst": "one parent spawned many children quickly",
    "short_job_flood": "a parent is launching many very short-lived commands",
    "runaway_tree": "a process tree keeps growing without bound",
    "cpu_spike": "a process is stuck in a busy loop",
    "memory_leak": "a process keeps allocating memory without releasing it",
    "fd_exhaustion": "a process opens files or sockets without closing them",
}
_STEPS = {
    "fork_storm": ["find the tree's root with `otel-linnix tree PID`", "cap it with pids.max"],
    "memory_leak": ["check the process's memory growth with `otel-linnix ps --sort rss`",
                    "restart it before the limit or set memory.max"],
    "fd_exhaustion": ["list its fds in /proc/PID/fd", "raise RLIMIT_NOFILE only once the leak "
                                                      "is understood"],
}


def explain(alert: Alert, reason: str) -> dict:
    cause = _CAUSES.get(alert.rule, "see the alert's evidence")
    return {"summary": f"{alert.message}. Likely {cause}.", "likely_cause": cause,
            "cited_facts": ["f1"], "next_steps": _STEPS.get(alert.rule, ["inspect the subject "
                                                                         "process"]),
            "confidence": 0.3, "source": "fallback", "fallback_reason": reason}
