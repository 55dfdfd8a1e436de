"""The processes the benchmark runs beside the workloads: the OTLP sink, the agent, the peers.

Each is a child process of the harness, measured from /proc by its pid, and always stopped
(SIGTERM, then SIGKILL) when the ``with`` block ends, so no run leaves anything behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from bench.measure import cpu_seconds, rss_bytes
from otel_linnix.testing.otlp_server import free_port

ROOT = Path(__file__).resolve().parent.parent


class Child:
    """A subprocess that is ready once ``ready_text`` appears in its log file."""

    ready_text = ""

    def __init__(self, argv: list[str], log: Path, stdin=None) -> None:
        self.argv, self.log_path = argv, log
        self._stdin = stdin
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdin=self._stdin,
                                     stdout=subprocess.PIPE if self._stdin else self._log,
                                     stderr=self._log, text=True)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[:4]} exited early: {self.tail()}")
            if self.ready_text in self.log_path.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.argv[:4]} not ready in {timeout}s: {self.tail()}")

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


class Sink(Child):
    """``bench.otlp_sink`` in its own process, driven over stdin / stdout."""

    def __init__(self, workdir: Path) -> None:
        super().__init__([sys.executable, "-m", "bench.otlp_sink"], workdir / "sink.log",
                         stdin=subprocess.PIPE)
        self.port = 0

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def spans(self) -> int:
        return self.ask("stats")["spans"]

    def settle(self, since: int = 0, expect: int = 0, background_per_s: int = 200,
               timeout: float = 30.0) -> int:
        """Wait for ``expect`` spans more than ``since``, then until spans arrive no faster
        than the host's background rate (the exporter has drained); at most ``timeout`` s.

        Never "until quiet": other work on the shared host keeps making processes.
        """
        deadline = time.monotonic() + timeout
        time.sleep(0.5)
        last = self.spans()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.spans()
            if now - since >= expect and now - last <= background_per_s / 2:
                return now
            last = now
        return last

    def dump(self, path: Path) -> dict:
        self.ask(f"dump {path}")
        return json.loads(path.read_text())

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
        super().__exit__(*exc)


#: The shipped rules, except fork_storm's lifecycle: a short hold and cooldown let each storm of
#: the bench raise its own alert (the detection itself is the shipped one).
FORK_STORM_OVERRIDES = {"hold": "2s", "cooldown": "5s"}


def bench_rules() -> str:
    from otel_linnix.processors.rules.rulesfile import default_rules_text

    doc = yaml.safe_load(default_rules_text())
    for rule in doc["rules"]:
        if rule["type"] == "fork_storm":
            rule.update(FORK_STORM_OVERRIDES)
    return yaml.safe_dump(doc, sort_keys=False)


def agent_config(sink_port: int, prom_port: int, spool: Path, rules: Path) -> str:
    """All signals on, OTLP gRPC to the sink, Prometheus for the lost / dropped counters."""
    return f"""\
receivers:
  ebpf_process: {{}}
processors:
  rules: {{rules_file: {rules}, state_dir: {spool.parent / "rules-state"}}}
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink_port}
    tls: {{insecure: true}}
    spool: {{directory: {spool}}}
  prometheus:
    endpoint: 127.0.0.1:{prom_port}
service:
  pipelines:
    traces: {{receivers: [ebpf_process], processors: [rules], exporters: [otlp]}}
    metrics: {{receivers: [ebpf_process], exporters: [otlp, prometheus]}}
    logs: {{receivers: [ebpf_process], processors: [rules], exporters: [otlp]}}
"""


class Agent(Child):
    """The real agent: ``otel-linnix run --config FILE``."""

    ready_text = "otel-linnix started"

    def __init__(self, workdir: Path, sink_port: int) -> None:
        self.prom_port = free_port()
        config, rules = workdir / "agent.yaml", workdir / "rules.yaml"
        rules.write_text(bench_rules())
        config.write_text(agent_config(sink_port, self.prom_port, workdir / "spool", rules))
        super().__init__([sys.executable, "-m", "otel_linnix", "run", "--config", str(config)],
                         workdir / "agent.log")

    def counters(self) -> dict[str, float]:
        """Every ``otel_linnix_*`` sample on the scrape endpoint, labels folded into the name."""
        text = httpx.get(f"http://127.0.0.1:{self.prom_port}/metrics", timeout=10).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("otel_linnix_"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out


class Peer(Child):
    """A peer (``bench.peers.<module>``) in its own process, ready when it logs "ready"."""

    ready_text = "ready"

    def __init__(self, module: str, workdir: Path, *args: str) -> None:
        super().__init__([sys.executable, "-m", f"bench.peers.{module}", *args],
                         workdir / f"{module}.log")
