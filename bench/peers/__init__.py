"""What the agent is compared with, each run as its own process on the same workloads:
``proc_scraper`` (a /proc poller at 1 s, like the Collector's hostmetrics process scraper) and
``sdk_agent`` (the same eBPF receiver feeding the OpenTelemetry SDK's ordinary per-span path).
"""
