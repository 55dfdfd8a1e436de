"""Container and pod identity from a cgroup path (docker, containerd/CRI, cri-o, podman, systemd).

Runtimes name a container's cgroup after its 64-hex id in a few known shapes; Kubernetes adds
the pod uid in the kubepods slice. Unknown shapes yield empty strings, never a guess.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_ID = r"([0-9a-f]{64})"
_CONTAINER_PATTERNS = [
    re.compile(rf"/docker[-/]{_ID}(?:\.scope)?$"),          # docker (cgroupfs and systemd)
    re.compile(rf"/cri-containerd[-:]{_ID}(?:\.scope)?$"),  # containerd CRI (systemd)
    re.compile(rf"/crio[-:]{_ID}(?:\.scope)?$"),            # cri-o
    re.compile(rf"/libpod[-:]{_ID}(?:\.scope)?$"),          # podman
    re.compile(rf"/containerd[-/]{_ID}(?:\.scope)?$"),
    re.compile(rf"/kubepods[^ ]*/pod[0-9a-f_\-]+/{_ID}$"),  # cgroupfs kubepods
    re.compile(rf"/{_ID}$"),                                # bare id as last component
]
_POD = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_SYSTEMD_UNIT = re.compile(r"/([^/]+\.(?:service|scope))$")


@dataclass(frozen=True, slots=True)
class Identity:
    container_id: str = ""
    pod_uid: str = ""
    systemd_unit: str = ""


@functools.lru_cache(maxsize=4096)
def identify(cgroup_path: str) -> Identity:
    """Cached (the result is frozen): a host has few distinct cgroups, and the table, the rules
    and the exporters ask about the same ones for every process."""
    container = ""
    for pattern in _CONTAINER_PATTERNS:
        m = pattern.search(cgroup_path)
        if m:
            container = m.group(1)
            break
    pod = _POD.search(cgroup_path)
    unit = _SYSTEMD_UNIT.search(cgroup_path) if not container else None
    return Identity(container, pod.group(1).replace("_", "-") if pod else "",
                    unit.group(1) if unit else "")
