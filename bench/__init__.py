"""The benchmark harness: workloads, the agent and its peers, measurements and the report.

``make bench`` (or ``python -m bench.run``) runs it; ``make bench QUICK=1`` is the short form
the test suite runs as a smoke test.
"""
