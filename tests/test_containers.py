import pytest

from otel_linnix.containers import identify

ID = "0123456789abcdef" * 4


@pytest.mark.parametrize("path,container", [
    (f"/system.slice/docker-{ID}.scope", ID),
    (f"/docker/{ID}", ID),
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_5678_90ab_cdef_1234567890ab.slice/cri-containerd-{ID}.scope", ID),
    (f"/kubepods/besteffort/pod1234abcd-5678-90ab-cdef-1234567890ab/{ID}", ID),
    (f"/machine.slice/libpod-{ID}.scope", ID),
    (f"/crio-{ID}.scope", ID),
    ("/user.slice/user-0.slice/session-3.scope", ""),
    ("/", ""),
])
def test_container_ids(path, container):
    assert identify(path).container_id == container


def test_pod_uid_and_systemd_unit():
    pod = identify(f"/kubepods/besteffort/pod1234abcd-5678-90ab-cdef-1234567890ab/{ID}")
    assert pod.pod_uid == "1234abcd-5678-90ab-cdef-1234567890ab"
    assert identify("/system.slice/nginx.service").systemd_unit == "nginx.service"
