"""The hot path's modules, compiled with mypyc where setup finds a C compiler, and the check
that keeps a compiled copy older than its source from running.

Every process lifetime passes through the decoder, the process table, the host totals and the
span encoder. In a fork storm on a saturated host that Python is most of what the agent
costs the workload. mypyc (part of mypy) compiles these same typed sources to C extension
modules placed next to them, which Python imports in preference to the ``.py``. There is one
source of truth, and the type annotations are enforced at run time. Without a compiler the
same code runs interpreted.

mypyc's modules call each other's functions natively, so one stale module leaves stale code in
all of them. ``native.json`` holds each source's hash as it was built. When any source has
changed since, the whole build is removed when the package is imported and the sources run
interpreted; a warning says so and ``make setup`` builds it again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import warnings
from pathlib import Path

#: Modules under the package, as paths relative to it.
MODULES = (
    "records.py",
    "proctable.py",
    "receivers/hosttotals.py",
    "receivers/ebpf_process/ringbuf.py",
    "receivers/ebpf_process/decode.py",
    "exporters/otlpcommon/wire.py",
    "exporters/otlpcommon/ids.py",
    "exporters/otlpcommon/spans.py",
    "exporters/otlpcommon/builder.py",
)
#: The shared library mypyc puts the compiled code of all modules in (inside the package).
GROUP = "otel_linnix._native"
MANIFEST = "native.json"
PACKAGE_DIR = Path(__file__).resolve().parent


def source_hashes(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    return {name: hashlib.sha256((package_dir / name).read_bytes()).hexdigest()
            for name in MODULES}


def built_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The extension modules of a build, the shared library first."""
    found = sorted(package_dir.glob(GROUP.rsplit(".", 1)[1] + "__mypyc.*.so"))
    for name in MODULES:
        source = package_dir / name
        found += sorted(source.parent.glob(source.stem + ".*.so"))
    return found


def read_manifest(package_dir: Path = PACKAGE_DIR) -> dict[str, str] | None:
    try:
        found = json.loads((package_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def remove_build(package_dir: Path = PACKAGE_DIR) -> None:
    for path in built_files(package_dir):
        path.unlink(missing_ok=True)  # another process may be removing it too
    (package_dir / MANIFEST).unlink(missing_ok=True)


def stale_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Modules whose compiled copy was built from other sources than those here now (a
    compiled module with no manifest counts as stale: nothing says what it was built from)."""
    built = built_files(package_dir)
    if not built:
        return []
    manifest = read_manifest(package_dir) or {}
    return [name for name, digest in source_hashes(package_dir).items()
            if manifest.get(name) != digest]


def drop_stale_build() -> None:
    """Called once as the package is imported, before any compiled module is."""
    stale = stale_modules()
    if not stale:
        return
    try:
        remove_build()
    except OSError as exc:
        raise ImportError(
            f"otel_linnix: compiled modules in {PACKAGE_DIR} are older than their sources "
            f"({', '.join(stale)}) and cannot be removed ({exc}): run `make setup` to build "
            "them again, or remove the *.so files there") from None
    warnings.warn(f"otel_linnix: removed compiled modules older than their sources "
                  f"({', '.join(stale)}); running interpreted until `make setup` builds them",
                  RuntimeWarning, stacklevel=2)


def active() -> bool:
    """Whether the hot path runs compiled (reported by the agent and the benchmark)."""
    module = importlib.import_module("otel_linnix.records")
    return (getattr(module, "__file__", "") or "").endswith(".so")
