"""Compiles the hot path's modules (``otel_linnix.compiled.MODULES``) with mypyc, in place.

Run by setup: quick when the build matches the sources, and never fatal (the same code runs
interpreted without it). ``--check`` only says whether the build is up to date.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "otel_linnix"


def _load_compiled():
    """``otel_linnix.compiled`` alone: importing the package would drop the stale build it is
    about to replace, with a warning meant for someone running it."""
    spec = importlib.util.spec_from_file_location("otel_linnix_compiled", PACKAGE / "compiled.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


compiled = _load_compiled()


def up_to_date() -> bool:
    """Every module built (and the shared library), none from other sources."""
    return (len(compiled.built_files(PACKAGE)) == len(compiled.MODULES) + 1
            and not compiled.stale_modules(PACKAGE))


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import Distribution

    compiled.remove_build(PACKAGE)
    os.chdir(ROOT)
    sources = [f"otel_linnix/{name}" for name in compiled.MODULES]
    extensions = mypycify(sources, opt_level="3", group_name=compiled.GROUP)
    dist = Distribution({"name": "otel-linnix-native", "ext_modules": extensions,
                         "script_name": "build_native.py",
                         "script_args": ["build_ext", "--inplace",
                                         "--build-temp", "build/native"]})
    dist.parse_command_line()
    dist.run_commands()
    (PACKAGE / compiled.MANIFEST).write_text(
        json.dumps(compiled.source_hashes(PACKAGE), indent=1, sort_keys=True) + "\n")


def main() -> int:
    if up_to_date():
        print("native: compiled modules up to date")
        return 0
    if "--check" in sys.argv:
        print("native: compiled modules missing or older than their sources")
        return 1
    build()
    print(f"native: compiled {len(compiled.MODULES)} modules with mypyc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
