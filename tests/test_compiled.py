"""The hot path compiled with mypyc: setup builds it, and a build older than its sources never
runs in their place."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import otel_linnix.records
from otel_linnix import compiled

ROOT = Path(__file__).resolve().parent.parent


def test_setup_built_the_hot_path_and_the_suite_runs_it():
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_native.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, f"{check.stdout}{check.stderr} (make setup builds it)"
    assert compiled.active(), otel_linnix.records.__file__
    built = {path.name.split(".")[0] for path in compiled.built_files()}
    assert built == {"_native__mypyc"} | {Path(name).stem for name in compiled.MODULES}


def _package_copy(tmp_path: Path) -> Path:
    """This package, its compiled modules and manifest included, importable from tmp_path."""
    shutil.copytree(compiled.PACKAGE_DIR, tmp_path / "otel_linnix",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "otel_linnix"


def _import_records(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import otel_linnix.records as r; "
                           "import otel_linnix.compiled as c; print(r.__file__, c.active())"],
                          cwd=where, capture_output=True, text=True)


def test_an_unchanged_build_is_imported():
    package = compiled.PACKAGE_DIR
    assert compiled.stale_modules(package) == []
    assert compiled.read_manifest(package) == compiled.source_hashes(package)


def test_a_build_older_than_one_source_is_removed_on_import_and_the_sources_run(tmp_path):
    package = _package_copy(tmp_path)
    decoder = package / "receivers" / "ebpf_process" / "decode.py"
    decoder.write_text(decoder.read_text() + "\n# edited after the build\n")
    assert compiled.stale_modules(package) == ["receivers/ebpf_process/decode.py"]

    run = _import_records(tmp_path)
    assert run.returncode == 0, run.stderr
    path, active = run.stdout.split()
    assert path == str(package / "records.py") and active == "False"
    assert "removed compiled modules older than their sources" in run.stderr
    assert "receivers/ebpf_process/decode.py" in run.stderr
    assert compiled.built_files(package) == [] and not (package / compiled.MANIFEST).exists()


def test_compiled_modules_without_a_manifest_count_as_stale(tmp_path):
    package = _package_copy(tmp_path)
    (package / compiled.MANIFEST).unlink()
    assert compiled.stale_modules(package) == list(compiled.MODULES)
    run = _import_records(tmp_path)
    assert run.returncode == 0 and run.stdout.split()[1] == "False", run.stderr


def test_a_stale_build_that_cannot_be_removed_stops_the_import_and_says_what_to_do():
    # as nobody, from a copy nobody may read but not change (pytest's tmp_path is root's only)
    where = Path(tempfile.mkdtemp(prefix="otel-linnix-compiled-"))
    try:
        where.chmod(0o755)
        package = _package_copy(where)
        wire = package / "exporters" / "otlpcommon" / "wire.py"
        wire.write_text(wire.read_text() + "\n# edited after the build\n")
        run = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              sys.executable, "-c", "import otel_linnix; print(otel_linnix.__file__)"],
                             cwd=where, capture_output=True, text=True)
    finally:
        shutil.rmtree(where)
    assert run.returncode != 0, run.stdout
    assert "exporters/otlpcommon/wire.py" in run.stderr and "make setup" in run.stderr
