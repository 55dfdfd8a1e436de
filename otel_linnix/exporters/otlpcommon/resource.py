"""The Resources signals carry: which host and agent, and which container / pod the data is about."""

from __future__ import annotations

import os
import platform

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.semconv._incubating.attributes.container_attributes import CONTAINER_ID
from opentelemetry.semconv._incubating.attributes.host_attributes import HOST_ID, HOST_NAME
from opentelemetry.semconv._incubating.attributes.k8s_attributes import (
    K8S_NAMESPACE_NAME,
    K8S_NODE_NAME,
    K8S_POD_NAME,
    K8S_POD_UID,
)
from opentelemetry.semconv._incubating.attributes.os_attributes import OS_TYPE
from opentelemetry.semconv._incubating.attributes.service_attributes import SERVICE_INSTANCE_ID
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME, SERVICE_VERSION

from otel_linnix import __version__
from otel_linnix.containers import identify
from otel_linnix.host import HostInfo


def kv(key: str, value) -> KeyValue:
    """One attribute; the AnyValue variant follows the Python type."""
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, (list, tuple)):
        from opentelemetry.proto.common.v1.common_pb2 import ArrayValue

        return KeyValue(key=key, value=AnyValue(array_value=ArrayValue(
            values=[AnyValue(string_value=str(v)) for v in value])))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def set_attrs(repeated, attrs: dict) -> None:
    """Append attributes in place (``repeated.add()``): no intermediate message to copy, which
    halves the cost of the hot path compared with building KeyValue objects."""
    for key, value in attrs.items():
        item = repeated.add()
        item.key = key
        kind = type(value)
        if kind is str:
            item.value.string_value = value
        elif kind is bool:
            item.value.bool_value = value
        elif kind is int:
            item.value.int_value = value
        elif kind is float:
            item.value.double_value = value
        elif kind in (list, tuple):
            values = item.value.array_value.values
            for v in value:
                values.add().string_value = str(v)
        else:
            item.value.string_value = str(value)


#: Where the agent runs in Kubernetes (the downward API's env): the node is every process's;
#: the pod and namespace are the agent's own, so only its own telemetry carries them.
_NODE_ENV = {K8S_NODE_NAME: "K8S_NODE_NAME"}
_AGENT_POD_ENV = {K8S_POD_NAME: "K8S_POD_NAME", K8S_NAMESPACE_NAME: "K8S_NAMESPACE_NAME"}

#: (container.id, k8s.pod.uid) of the processes a Resource describes; ("", "") for the host's.
Workload = tuple[str, str]
HOST_WORKLOAD: Workload = ("", "")


def build_resource(host: HostInfo, workload: Workload = HOST_WORKLOAD, agent: bool = False
                   ) -> Resource:
    """The host and the observing agent, plus the container / pod the data is about (so a
    Collector gateway's k8sattributes processor can add pod name, namespace and labels), or,
    for the agent's own telemetry (``agent``), the agent's own pod."""
    attrs = {
        SERVICE_NAME: "otel-linnix",
        SERVICE_VERSION: __version__,
        SERVICE_INSTANCE_ID: f"{host.machine_id or host.hostname}-{host.boot_id}",
        HOST_NAME: host.hostname,
        HOST_ID: host.machine_id,
        OS_TYPE: platform.system().lower() or "linux",
    }
    env = {**_NODE_ENV, **(_AGENT_POD_ENV if agent else {})}
    attrs.update({key: os.environ.get(var, "") for key, var in env.items()})
    attrs[CONTAINER_ID], attrs[K8S_POD_UID] = workload
    return Resource(attributes=[kv(k, v) for k, v in attrs.items() if v != ""])


def workload_of(cgroup_path: str) -> Workload:
    """The container and pod a cgroup path names (``identify`` is cached)."""
    found = identify(cgroup_path)
    return found.container_id, found.pod_uid


class Resources:
    """Serialized Resources per workload, built once each (bounded)."""

    def __init__(self, host: HostInfo, capacity: int = 4096) -> None:
        self._host = host
        self._capacity = capacity
        self._bytes: dict[Workload, bytes] = {}

    def encoded(self, workload: Workload) -> bytes:
        found = self._bytes.get(workload)
        if found is None:
            if len(self._bytes) >= self._capacity:
                self._bytes.clear()
            found = self._bytes[workload] = build_resource(
                self._host, workload).SerializeToString()
        return found

    def message(self, workload: Workload) -> Resource:
        return Resource.FromString(self.encoded(workload))
