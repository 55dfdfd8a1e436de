# otel-linnix: eBPF process observability agent, as a node agent or a sidecar.
#
# Build:  docker build -t otel-linnix .
# Run (node agent, minimal capabilities instead of --privileged):
#   docker run -d --name otel-linnix --pid=host \
#     --cap-drop=ALL --cap-add=BPF --cap-add=PERFMON --cap-add=SYS_RESOURCE --cap-add=SYS_PTRACE \
#     --security-opt apparmor=unconfined --security-opt seccomp=unconfined \
#     -v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
#     -v /lib/modules:/lib/modules:ro -v /usr/src:/usr/src:ro \
#     -p 127.0.0.1:9464:9464 \
#     -e OTLP_ENDPOINT=collector:4317 otel-linnix --config /etc/otel-linnix/to-collector.yaml
# The API listens on the container's loopback (the API refuses any other address without a
# bearer token); add --network=host to reach it on the host's 127.0.0.1:3000.
# (or simply --privileged --pid=host with the same mounts). Without root or eBPF, try the
# replay demo as the unprivileged user:
#   docker run --rm --user otel-linnix otel-linnix --config /etc/otel-linnix/replay-demo.yaml
#
# Why root inside: loading BPF needs CAP_BPF + CAP_PERFMON, reading every /proc/PID needs
# CAP_SYS_PTRACE; the container gets only those (plus SYS_RESOURCE for the memlock limit),
# not a full root. The replay demo needs none of them and runs as the user otel-linnix (10001).
FROM debian:bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
# python3-bpfcc is bcc from Debian (the PyPI "bcc" is unrelated); bcc compiles the BPF program
# at start against kernel headers: the host's (/lib/modules, /usr/src mounted read-only) or,
# failing that, Debian's generic headers linked in by the entrypoint.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip python3-bpfcc bpfcc-tools \
      linux-headers-amd64 ca-certificates procps tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/otel-linnix
# --system-site-packages: Debian's python3-bpfcc (import bcc) lives outside the venv.
RUN python3 -m venv --system-site-packages /opt/otel-linnix/venv
COPY pyproject.toml README.md ./
COPY otel_linnix ./otel_linnix
COPY bpf ./bpf
COPY rules ./rules
RUN /opt/otel-linnix/venv/bin/pip install --no-cache-dir . \
 && mkdir -p /etc/otel-linnix /var/lib/otel-linnix/spool \
 && useradd --system --uid 10001 --home-dir /var/lib/otel-linnix otel-linnix \
 && chown -R otel-linnix /var/lib/otel-linnix
COPY pipelines/ /etc/otel-linnix/
COPY deploy/docker/entrypoint.sh /usr/local/bin/otel-linnix-entrypoint

ENV PATH=/opt/otel-linnix/venv/bin:$PATH \
    REPLAY_FILE=/etc/otel-linnix/demo-recording.jsonl \
    API_ENDPOINT=127.0.0.1:3000 \
    PROMETHEUS_ENDPOINT=0.0.0.0:9464 \
    PYTHONUNBUFFERED=1
# 9464: Prometheus scrape endpoint. The HTTP/SSE API (3000: /healthz, /readyz, /metrics) stays
# on loopback unless configured with a token, so it is not exposed.
EXPOSE 9464
VOLUME ["/var/lib/otel-linnix"]

HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)" || exit 1

ENTRYPOINT ["tini", "--", "otel-linnix-entrypoint"]
CMD ["--config", "/etc/otel-linnix/to-collector.yaml"]
