#!/usr/bin/env bash
# Idempotent machine + virtualenv setup: Debian packages, kernel-header links, tracefs/debugfs,
# a .venv made from Debian's python3 (so Debian's python3-bpfcc is importable), and the hot
# path compiled with mypyc.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*"; }

ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
PACKAGES=(python3 python3-venv python3-pip python3-bpfcc bpftool "linux-headers-$ARCH"
          prometheus prometheus-alertmanager make gcc libc6-dev python3-dev procps iproute2
          debootstrap docker-compose)
# The container tests need a Docker engine: Debian's docker.io, only where no engine is
# installed at all (docker-ce and docker.io conflict; an engine already here is never replaced).
# A docker client alone is not an engine.
if ! command -v dockerd >/dev/null 2>&1 \
        && ! dpkg-query -W -f='${Status}' docker-ce 2>/dev/null | grep -q 'install ok installed'; then
    PACKAGES+=(docker.io)
fi
# Debian starts these daemons when it installs them; the tests run their own on free ports.
SERVICES_WE_INSTALL=(prometheus prometheus-alertmanager)

system_setup() {
    local missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # Stop only the units of the packages this run just installed, by name: never a
        # Prometheus someone else runs on this machine.
        local unit
        for unit in "${SERVICES_WE_INSTALL[@]}"; do
            [[ " ${missing[*]} " == *" $unit "* ]] || continue
            systemctl disable --now "$unit" >/dev/null 2>&1 \
                || service "$unit" stop >/dev/null 2>&1 || true
        done
    fi
    link_kernel_headers
    mount_fs tracefs /sys/kernel/tracing
    mount_fs debugfs /sys/kernel/debug
}

# bcc compiles against /lib/modules/$(uname -r)/{build,source}. The running kernel has no
# headers package; Debian's generic headers compile (struct offsets come from BTF at load time).
link_kernel_headers() {
    local mod="/lib/modules/$(uname -r)"
    [[ -e "$mod/build/include/generated" && -e "$mod/source/include/linux/kconfig.h" ]] && return
    local build common
    build=$(ls -d /usr/src/linux-headers-*-"$ARCH" 2>/dev/null | sort -V | tail -1)
    common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -1)
    if [[ -z "$build" || -z "$common" ]]; then
        log "WARNING: no kernel headers under /usr/src; BPF programs will not compile"
        return
    fi
    mkdir -p "$mod"
    ln -sfn "$build" "$mod/build"
    ln -sfn "$common" "$mod/source"
    log "linked $mod/build -> $build, source -> $common"
}

mount_fs() {
    local type=$1 dir=$2
    mountpoint -q "$dir" 2>/dev/null && return
    mount -t "$type" nodev "$dir" 2>/dev/null && log "mounted $type on $dir" \
        || log "WARNING: could not mount $type on $dir"
}

venv_setup() {
    local stamp=.venv/.installed hash
    hash=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
    if [[ ! -x .venv/bin/python ]]; then
        log "creating .venv from /usr/bin/python3 (with system site packages for bcc)"
        /usr/bin/python3 -m venv --system-site-packages .venv
    fi
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$hash" ]]; then
        log "installing Python dependencies"
        .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt \
            -e '.[dev]'
        echo "$hash" > "$stamp"
    fi
}

# The hot path compiled with mypyc (otel_linnix/compiled.py says why); without a compiler the
# same sources run interpreted, so a failed build is a warning, never the end of setup.
native_setup() {
    .venv/bin/python scripts/build_native.py --check >/dev/null 2>&1 && return
    log "compiling the hot path with mypyc"
    .venv/bin/python scripts/build_native.py >build/native.log 2>&1 \
        || log "WARNING: mypyc build failed (see build/native.log); the hot path runs interpreted"
}

if [[ $(id -u) -eq 0 ]]; then
    system_setup
else
    log "not root: skipping Debian packages, header links and mounts (BPF needs root anyway)"
fi
venv_setup
mkdir -p build
native_setup
log "ready"
