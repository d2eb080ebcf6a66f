"""Compile the engine with mypyc into build/engine/<key>/ when matching/ changed since the last
build: ``.venv/bin/python scripts/build_engine.py [--force]``.

Run by ``./scripts/run`` and ``./scripts/test`` (``ensure_engine`` in scripts/_venv.sh); quiet
when the build is current. Never fails the command that runs it: without a C compiler, the
Python headers or mypyc, or when the compile fails, it says so in a line, records why in
build/engine/FAILED.json (``matching.build`` reports it) and the pure modules run. What is
compiled, the key and how a process loads the build: ``matching/build.py``.

The compile runs in a child process (``--compile-into DIR``) whose output goes to
build/engine/build.log; the result is moved into place whole, so a process starting meanwhile
sees either no build or a complete one. A lock keeps two builds of one checkout apart.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["ENGINE_BUILD"] = "pure"  # this process only needs the loader's names, not a build
sys.path.insert(0, str(ROOT))

from matching import build  # noqa: E402  (after the path and switch above)

LOG = build.BUILD_ROOT / "build.log"
MYPY_CONFIG = "[mypy]\npython_version = 3.11\n"  # not the project's: no Django plugin here


def say(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def missing_toolchain() -> str | None:
    """Why this machine cannot compile the engine, or None when it can."""
    for module in ("mypyc", "setuptools"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (requirements-build.txt)"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler}; apt-get install -y gcc)"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.is_file():
        return f"no Python headers ({headers}; apt-get install -y python3-dev)"
    return None


def record_failure(key: str, kind: str, reason: str) -> None:
    note = {"key": key, "kind": kind, "reason": reason}
    (build.BUILD_ROOT / build.FAILED).write_text(json.dumps(note) + "\n")
    say(f"engine not compiled: {reason}; the pure Python engine runs")


def compile_into(target: Path) -> None:
    """The child: mypyc's C for the engine modules, then the extensions, into ``target``."""
    from mypyc.build import mypycify
    from setuptools import setup  # type: ignore[import-untyped]  # no types shipped

    os.chdir(ROOT)  # module names come from the paths: matching/engine.py is matching.engine
    config = target / "mypy.ini"
    config.write_text(MYPY_CONFIG)
    paths = [f"matching/{name}.py" for name in build.COMPILED_MODULES]
    extensions = mypycify(
        [*paths, "--config-file", str(config), "--cache-dir", str(target / "mypy_cache")],
        opt_level="3",
        debug_level="1",
        target_dir=str(target / "c"),
    )
    setup(
        name="exchange-engine",
        packages=[],  # the extensions only: no discovery of the checkout's packages
        py_modules=[],
        ext_modules=extensions,
        script_args=["build_ext", "--build-lib", str(target), "--build-temp", str(target / "o")],
    )


def complete(target: Path) -> bool:
    shims = [target / "matching" / f"{name}{build.EXT_SUFFIX}" for name in build.COMPILED_MODULES]
    libraries = list(target.glob(f"*__mypyc{build.EXT_SUFFIX}"))
    return len(libraries) == 1 and all(shim.is_file() for shim in shims)


def build_engine(force: bool) -> int:
    key = build.source_key()
    final = build.build_dir(key)
    if (final / build.STAMP).is_file() and not force:
        return 0
    reason = missing_toolchain()
    if reason is not None:
        record_failure(key, "toolchain", reason)
        return 0
    say("compiling the engine with mypyc into build/engine/ (about half a minute; again only after")
    say("  matching/ changes; ENGINE_BUILD=pure runs the pure modules)")
    started = time.monotonic()
    for stale in build.BUILD_ROOT.glob("tmp-*"):  # an interrupted build's (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    target = build.BUILD_ROOT / f"tmp-{key}-{os.getpid()}"
    target.mkdir(parents=True)
    with LOG.open("w") as log:
        done = subprocess.run(
            [sys.executable, __file__, "--compile-into", str(target)],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not complete(target):
        shutil.rmtree(target, ignore_errors=True)
        record_failure(key, "error", f"mypyc failed (exit {done.returncode}): see {LOG}")
        return 0
    for scratch in ("c", "o", "mypy_cache", "mypy.ini"):
        path = target / scratch
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    stamp = {"key": key, "python": sys.version.split()[0], "mypyc": _mypy_version()}
    (target / build.STAMP).write_text(json.dumps(stamp) + "\n")
    if final.exists():  # --force: replace the old build of the same sources
        shutil.rmtree(final)
    target.rename(final)
    _prune(keep=final)
    say(f"engine compiled in {time.monotonic() - started:.0f} s ({final.relative_to(ROOT)})")
    return 0


def _mypy_version() -> str:
    from mypy.version import __version__

    return __version__


def _prune(keep: Path) -> None:
    """Builds of other sources, and the last failure: the current build supersedes them."""
    for path in build.BUILD_ROOT.iterdir():
        if path.is_dir() and path != keep:
            shutil.rmtree(path, ignore_errors=True)
    (build.BUILD_ROOT / build.FAILED).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="compile even if current")
    parser.add_argument("--compile-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_into is not None:
        compile_into(args.compile_into)
        return 0
    build.BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with (build.BUILD_ROOT / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second build of this checkout waits, then sees it
        return build_engine(args.force)


if __name__ == "__main__":
    sys.exit(main())
