# otel-linnix: eBPF process observability agent, as a node agent or a sidecar.
#
# Build:  docker build -t otel-linnix .
# Run (node agent, minimal capabilities instead of --privileged; Docker Engine 23 or newer):
#   docker run -d --name otel-linnix --pid=host \
#     --cap-drop=ALL --cap-add=BPF --cap-add=PERFMON --cap-add=SYS_PTRACE \
#     --security-opt apparmor=unconfined --security-opt seccomp=unconfined \
#     -v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
#     -v /lib/modules:/lib/modules:ro -v /usr/src:/usr/src:ro \
#     -p 127.0.0.1:9464:9464 \
#     -e OTLP_ENDPOINT=collector:4317 otel-linnix --config /etc/otel-linnix/to-collector.yaml
# Engines older than 23.0 (Debian 12's docker.io 20.10) do not know the names BPF and PERFMON
# ("invalid CapAdd: unknown capability"): use --cap-add=SYS_ADMIN in their place. Kernels older
# than 5.11 charge BPF maps to the memlock rlimit: add --cap-add=SYS_RESOURCE there.
# The /lib/modules and /usr/src mounts are optional: without host headers (or without the
# mounts) bcc compiles against the image's own generic headers (struct offsets come from BTF).
# The API listens on the container's loopback (the API refuses any other address without a
# bearer token); add --network=host to reach it on the host's 127.0.0.1:3000.
# Without root or eBPF, try the replay demo as the unprivileged user:
#   docker run --rm --user otel-linnix otel-linnix --config /etc/otel-linnix/replay-demo.yaml
#
# Why root inside: loading BPF needs CAP_BPF + CAP_PERFMON, reading every /proc/PID needs
# CAP_SYS_PTRACE; the container gets only those, not a full root (no DAC_OVERRIDE: the state
# directory is root's, group-writable for the otel-linnix user). The replay demo needs none of
# them and runs as the user otel-linnix (10001).
FROM debian:bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
# python3-bpfcc is bcc from Debian (the PyPI "bcc" is unrelated); bcc compiles the BPF program
# at start, against the host's kernel headers when mounted, else against Debian's generic
# headers, unpacked here without the compiler toolchain the headers package would pull in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-bpfcc bpftool ca-certificates tini \
 && arch=$(dpkg --print-architecture) \
 && headers=$(apt-cache depends "linux-headers-$arch" | sed -n 's/.*Depends: \(linux-headers-.*\)/\1/p' | head -1) \
 && common=$(apt-cache depends "$headers" | sed -n 's/.*Depends: \(linux-headers-.*-common\)/\1/p' | head -1) \
 && mkdir -p /tmp/headers /opt/otel-linnix/kernel-headers && cd /tmp/headers \
 && apt-get download "$headers" "$common" \
 && for deb in *.deb; do dpkg-deb -x "$deb" root; done \
 && cp -a root/usr/src/"$common"/. /opt/otel-linnix/kernel-headers/ \
 && cp -a root/usr/src/"$headers"/include root/usr/src/"$headers"/arch /opt/otel-linnix/kernel-headers/ \
 && echo "$headers" > /opt/otel-linnix/kernel-headers/.package \
 && case "$arch" in amd64) karch=x86 ;; *) karch="$arch" ;; esac \
 && cd /opt/otel-linnix/kernel-headers \
 && find arch -mindepth 1 -maxdepth 1 ! -name "$karch" -exec rm -rf {} + \
 && rm -rf include/dt-bindings include/sound include/drm include/media \
 && cd / && apt-get clean && rm -rf /tmp/headers /var/lib/apt/lists/* /var/cache/apt/*.bin

WORKDIR /opt/otel-linnix
COPY pyproject.toml README.md constraints.txt ./
COPY otel_linnix ./otel_linnix
COPY scripts/build_native.py ./scripts/
COPY bpf ./bpf
COPY rules ./rules
# --system-site-packages: Debian's python3-bpfcc (import bcc) lives outside the venv.
# constraints.txt pins every Python package (the same file make setup installs with).
# The hot path is compiled with mypyc as make setup does (otel_linnix/compiled.py), against the
# installed dependencies, then installed with the package. The compiler, the Python headers,
# mypy, pip and setuptools leave the image in the same layer, once they have done their work.
ARG PIP="/opt/otel-linnix/venv/bin/pip --no-cache-dir --disable-pip-version-check"
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev python3-dev \
 && python3 -m venv --system-site-packages /opt/otel-linnix/venv \
 && export PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
 && $PIP install -q -c constraints.txt . mypy \
 && { /opt/otel-linnix/venv/bin/python scripts/build_native.py >/tmp/native.log 2>&1 \
      || { tail -40 /tmp/native.log; exit 1; }; } \
 && $PIP install -q --no-deps --force-reinstall . \
 && (cd / && /opt/otel-linnix/venv/bin/python -c \
      "import otel_linnix.records, otel_linnix.compiled as c; assert c.active(), 'not compiled'") \
 && $PIP uninstall -q -y mypy mypy_extensions ast_serialize pathspec librt pip setuptools \
 && apt-get purge -y -qq --auto-remove gcc libc6-dev python3-dev \
 && apt-get clean && rm -rf build /tmp/native.log /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --home-dir /var/lib/otel-linnix otel-linnix \
 && mkdir -p /etc/otel-linnix /var/lib/otel-linnix/spool \
 && chown -R root:otel-linnix /var/lib/otel-linnix \
 && chmod -R 2775 /var/lib/otel-linnix
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

HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD python3 -c "import os,urllib.request; urllib.request.urlopen('http://%s/healthz' % os.environ.get('API_ENDPOINT', '127.0.0.1:3000'), timeout=2)" || exit 1

# -s: a child subreaper, so tini reaps zombies (and says nothing) also when it is not PID 1,
# as under --pid=host or --pid=container:NAME.
ENTRYPOINT ["tini", "-s", "--", "otel-linnix-entrypoint"]
CMD ["--config", "/etc/otel-linnix/to-collector.yaml"]
