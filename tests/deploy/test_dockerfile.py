"""The Dockerfile: COPY sources exist (and are not docker-ignored), apt packages resolve."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess

import pytest

from .conftest import ROOT


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def ignored(path: str) -> bool:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.replace("**/", "")):
            result = not negate
    return result


def test_copy_sources_exist_and_are_in_the_build_context():
    copies = [rest.split()[:-1] for word, rest in instructions() if word == "COPY"]
    assert copies
    for sources in copies:
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file"
            assert not ignored(src.rstrip("/")), f"COPY {src}: excluded by .dockerignore"


def test_entrypoint_script_is_copied_and_executable():
    copies = {rest.split()[-1]: rest.split()[0] for word, rest in instructions() if word == "COPY"}
    entrypoint = next(rest for word, rest in instructions() if word == "ENTRYPOINT")
    script = next(dst for dst in copies
                  if dst.startswith("/") and dst.rsplit("/", 1)[1] in entrypoint.split('"'))
    assert os.access(ROOT / copies[script], os.X_OK)


def test_command_config_is_one_of_the_shipped_pipelines():
    cmd = next(rest for word, rest in instructions() if word == "CMD")
    config = re.search(r"/etc/otel-linnix/([\w.-]+\.yaml)", cmd).group(1)
    assert (ROOT / "pipelines" / config).is_file()
    env = next(rest for word, rest in instructions() if word == "ENV" and "REPLAY_FILE" in rest)
    recording = re.search(r"REPLAY_FILE=/etc/otel-linnix/([\w.-]+)", env).group(1)
    assert (ROOT / "pipelines" / recording).is_file()


def test_healthcheck_and_ports_match_the_api_and_prometheus_endpoints():
    words = dict((w, r) for w, r in instructions() if w in {"HEALTHCHECK", "EXPOSE", "FROM"})
    assert "bookworm" in words["FROM"]
    assert "/healthz" in words["HEALTHCHECK"]
    env = " ".join(r for w, r in instructions() if w == "ENV")
    api = re.search(r"API_ENDPOINT=([\d.]+):(\d+)", env)
    prom_port = re.search(r"PROMETHEUS_ENDPOINT=[\d.]+:(\d+)", env).group(1)
    assert set(words["EXPOSE"].split()) == {prom_port}
    # the API refuses a non-loopback address without a token; the check runs inside anyway
    assert api.group(1) == "127.0.0.1"
    # the check asks where the API is (API_ENDPOINT), by default where the image puts it
    check = words["HEALTHCHECK"]
    assert f"os.environ.get('API_ENDPOINT', '127.0.0.1:{api.group(2)}')" in check


def apt_packages() -> list[str]:
    packages = []
    for word, rest in instructions():
        if word == "RUN" and "apt-get install" in rest:
            install = rest.split("apt-get install", 1)[1].split("&&", 1)[0]
            packages += [t for t in install.split() if not t.startswith("-")]
    return packages


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="apt-cache not available")
def test_apt_packages_resolve():
    packages = apt_packages()
    assert "python3-bpfcc" in packages
    for name in packages:
        proc = subprocess.run(["apt-cache", "show", name], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0 and "Package:" in proc.stdout, f"apt-cache show {name}"
