#!/bin/sh
# Container entrypoint: point bcc at kernel headers it can compile against, then run the agent.
# bcc looks in /lib/modules/$(uname -r)/{build,source}: the host's, when /lib/modules and
# /usr/src are mounted and hold headers for this kernel. Otherwise (no mounts, empty or
# read-only ones, a host without headers) it is told to use the image's own generic headers
# (BCC_KERNEL_SOURCE): struct offsets come from BTF at load time, so they compile correctly.
set -eu
mod="/lib/modules/$(uname -r)"
own=/opt/otel-linnix/kernel-headers
host_headers() {
    [ -e "$mod/build/include/generated/autoconf.h" ] || return 1
    [ -e "$mod/build/include/linux/kconfig.h" ] || [ -e "$mod/source/include/linux/kconfig.h" ]
}
if [ -z "${BCC_KERNEL_SOURCE:-}" ] && ! host_headers && [ -e "$own/include/linux/kconfig.h" ]; then
    export BCC_KERNEL_SOURCE="$own"
fi
exec otel-linnix run "$@"
