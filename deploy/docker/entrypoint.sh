#!/bin/sh
# Container entrypoint: make kernel headers findable for bcc, then run the agent.
# bcc compiles against /lib/modules/$(uname -r)/build. Mount the host's /lib/modules and
# /usr/src read-only when it has headers; otherwise link Debian's generic headers (struct
# offsets come from BTF at load time, so generic headers compile correctly).
set -eu
mod="/lib/modules/$(uname -r)"
if [ ! -e "$mod/build/include/generated" ] && [ -w /lib/modules ]; then
    build=$(ls -d /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*-arm64 2>/dev/null | tail -1 || true)
    common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | tail -1 || true)
    if [ -n "$build" ] && [ -n "$common" ]; then
        mkdir -p "$mod"
        ln -sfn "$build" "$mod/build"
        ln -sfn "$common" "$mod/source"
    fi
fi
exec otel-linnix run "$@"
