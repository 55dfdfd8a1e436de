"""A real Docker engine for the container tests, and the image built the way a user builds it.

The engine: the one the machine runs; else the one it has installed, started here (and
stopped again at the end: only what the tests started); never another one installed over it
(``make setup`` installs Debian's docker.io only where no engine is installed at all).

The base image: ``debian:bookworm-slim`` as the engine has it; where no registry can be
reached, made locally from Debian packages with debootstrap, as slim as the official one
(no docs, man pages or locales), trusting the host's extra CA certificates
(/usr/local/share/ca-certificates), so apt and pip inside a build work as on the host.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

BASE_IMAGE = "debian:bookworm-slim"
MIRROR = "http://deb.debian.org/debian"

_SOURCES = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
_SLIM = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
"""
_CLEAN = """DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
"""


class EngineUnavailable(Exception):
    """No Docker engine can run here (the reason says why)."""


def docker(*args: str, timeout: float = 600, check: bool = True, input: bytes | None = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, timeout=timeout, check=check,
                          input=input)


def _answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return docker("info", timeout=20, check=False).returncode == 0


@contextmanager
def engine():
    """A running engine for the duration; raises EngineUnavailable saying why there is none."""
    if _answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or shutil.which("docker") is None:
        raise EngineUnavailable("no Docker engine is installed (make setup installs Debian's "
                                "docker.io where none is)")
    if os.geteuid() != 0:
        raise EngineUnavailable("the installed Docker engine is not running, and starting it "
                                "needs root")
    log = open(os.path.join(tempfile.gettempdir(), "otel-linnix-tests-dockerd.log"), "ab")
    proc = subprocess.Popen([dockerd], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not _answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise EngineUnavailable(f"dockerd would not start (exit {proc.poll()}; see "
                                        f"{log.name})")
            time.sleep(0.5)
        yield
    finally:
        proc.terminate()  # only the engine the tests started
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def ensure_base_image() -> str:
    """``debian:bookworm-slim``: present, pulled, or made here with debootstrap."""
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return "present"
    if docker("pull", BASE_IMAGE, timeout=60, check=False).returncode == 0:
        return "pulled"
    if shutil.which("debootstrap") is None:
        raise EngineUnavailable(f"no {BASE_IMAGE} (no registry reachable) and no debootstrap "
                                "to make one (make setup installs it)")
    with tempfile.TemporaryDirectory(prefix="otel-linnix-rootfs-") as root:
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, MIRROR],
                       check=True, capture_output=True, timeout=900)
        _slim_and_trusting(root)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-c", 'CMD ["bash"]', "-", BASE_IMAGE],
                       stdin=tar.stdout, check=True, capture_output=True, timeout=300)
        tar.wait()
    return "made with debootstrap"


def _slim_and_trusting(root: str) -> None:
    os.makedirs(f"{root}/usr/local/share/ca-certificates", exist_ok=True)
    for cert in glob.glob("/usr/local/share/ca-certificates/*.crt"):
        shutil.copy(cert, f"{root}/usr/local/share/ca-certificates/")
    with open(f"{root}/etc/apt/sources.list.d/debian.sources", "w") as f:
        f.write(_SOURCES)
    if os.path.exists(f"{root}/etc/apt/sources.list"):
        os.remove(f"{root}/etc/apt/sources.list")
    os.makedirs(f"{root}/etc/dpkg/dpkg.cfg.d", exist_ok=True)
    with open(f"{root}/etc/dpkg/dpkg.cfg.d/slim", "w") as f:
        f.write(_SLIM)
    with open(f"{root}/etc/apt/apt.conf.d/docker-clean", "w") as f:  # as the official image
        f.write(_CLEAN)
    for path in ("usr/share/man", "usr/share/info", "usr/share/locale", "var/lib/apt/lists",
                 "var/cache/apt/archives"):
        shutil.rmtree(f"{root}/{path}", ignore_errors=True)
    subprocess.run(["find", f"{root}/usr/share/doc", "-type", "f", "!", "-name", "copyright",
                    "-delete"], check=False)


@dataclass
class Image:
    tag: str
    build_seconds: float
    size_bytes: int
    base: str


def build(context: str, tag: str) -> Image:
    base = ensure_base_image()
    started = time.monotonic()
    result = docker("build", "-t", tag, context, timeout=1800, check=False)
    if result.returncode != 0:
        raise AssertionError(f"docker build failed:\n{result.stdout.decode()[-3000:]}\n"
                             f"{result.stderr.decode()[-3000:]}")
    took = time.monotonic() - started
    size = json.loads(docker("image", "inspect", tag).stdout)[0]["Size"]
    return Image(tag, took, size, base)


def health(name: str) -> str:
    out = docker("inspect", "-f", "{{json .State}}", name, check=False)
    if out.returncode != 0:
        return "gone"
    state = json.loads(out.stdout)
    return (state.get("Health") or {}).get("Status") or state.get("Status", "")


def logs(name: str) -> str:
    out = docker("logs", name, check=False)
    return (out.stdout + out.stderr).decode(errors="replace")


def remove(*names: str) -> None:
    docker("rm", "-f", *names, check=False)
