"""The compiled build of the engine (matching/build.py, scripts/build_engine.py): which build a
process loads under ENGINE_BUILD, that the compiled one emits what the pure one does, and that
a stale or impossible build falls back to the pure modules and says why.

Each build runs in a child process: one process imports the engine once, from one build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matching import build

ROOT = Path(__file__).resolve().parents[2]

WHICH = "from matching.build import build_note, loaded_build; print(loaded_build(), build_note())"

# A seeded stream through a fresh engine: a digest of every event, and the final state hash.
DIGEST = """
import hashlib
from tests.matching import streams
from tests.matching.builders import FEE_ACCOUNT, add_market
from matching.build import loaded_build
from matching.engine import MatchingEngine

digest = hashlib.sha256()
for seed in range(3):
    engine = MatchingEngine(FEE_ACCOUNT)
    prefix = [add_market(streams.LOW_MIN_SPEC), *streams.funding(), *streams.seed_book()]
    events = 0
    for command in prefix + streams.seeded_orders(seed, 3_000):
        for event in engine.apply(command):
            digest.update(repr(event).encode())
            events += 1
    engine.validate()
    digest.update(engine.state_hash().encode())
print(loaded_build(), events, digest.hexdigest())
"""


def run_python(code: str, mode: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENGINE_BUILD": mode, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def require_compiled_build() -> None:
    """Skip where this machine cannot compile (the pure build is what runs there); a build
    that failed to compile, or was never made, fails the test."""
    failed = build.failure(build.source_key())
    if failed is not None and failed["kind"] == "toolchain":
        pytest.skip(f"the engine cannot be compiled here: {failed['reason']}")
    assert (build.build_dir(build.source_key()) / build.STAMP).is_file(), (
        f"no compiled engine for these sources ({failed['reason'] if failed else 'never built'}):"
        " run .venv/bin/python scripts/build_engine.py"
    )


def test_the_compiled_build_is_loaded_when_it_is_current_and_the_switch_is_unset() -> None:
    require_compiled_build()
    done = run_python(WHICH, "")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("compiled engine: compiled with mypyc (build/engine/")


def test_the_pure_modules_are_loaded_when_engine_build_is_pure() -> None:
    code = WHICH + "; import matching.engine as e; print(e.__file__)"
    done = run_python(code, "pure")
    assert done.returncode == 0, done.stderr
    which, path = done.stdout.splitlines()
    assert which == "pure engine: pure Python (ENGINE_BUILD=pure)"
    assert path == str(ROOT / "matching" / "engine.py")


def test_an_unknown_engine_build_value_is_refused() -> None:
    done = run_python(WHICH, "fast")
    assert done.returncode != 0
    assert "ENGINE_BUILD='fast': expected one of auto, pure, compiled" in done.stderr


def test_compiled_and_pure_builds_emit_the_same_events_and_state_hash_on_seeded_streams() -> None:
    require_compiled_build()
    compiled = run_python(DIGEST, "compiled")
    pure = run_python(DIGEST, "pure")
    assert compiled.returncode == 0, compiled.stderr
    assert pure.returncode == 0, pure.stderr
    build_c, events_c, digest_c = compiled.stdout.split()
    build_p, events_p, digest_p = pure.stdout.split()
    assert (build_c, build_p) == ("compiled", "pure")
    assert int(events_c) > 10_000
    assert (events_c, digest_c) == (events_p, digest_p)


def copy_project(tmp_path: Path) -> Path:
    """The engine's sources and its build script, without a build."""
    shutil.copytree(
        ROOT / "matching", tmp_path / "matching", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "build_engine.py", tmp_path / "scripts")
    return tmp_path


def test_the_pure_modules_run_and_say_why_when_the_sources_changed_since_the_build(
    tmp_path: Path,
) -> None:
    # given a copy of the sources with the current build, then an edit
    require_compiled_build()
    project = copy_project(tmp_path)
    key = build.source_key()
    shutil.copytree(build.build_dir(key), project / "build" / "engine" / key)
    with (project / "matching" / "book.py").open("a") as book:
        book.write("# edited\n")
    # when a process imports the engine, then the pure modules run, and it says why
    done = run_python(WHICH, "", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pure engine: pure Python (not compiled for these sources")
    # and ENGINE_BUILD=compiled refuses to start rather than run the pure build
    refused = run_python(WHICH, "compiled", cwd=project)
    assert "ENGINE_BUILD=compiled, but the engine is not compiled" in refused.stderr


def test_the_build_records_why_and_the_pure_modules_run_when_there_is_no_compiler(
    tmp_path: Path,
) -> None:
    # given a checkout on a machine without a C compiler on the PATH
    project = copy_project(tmp_path)
    env = {**os.environ, "PATH": str(tmp_path / "no-bin")}
    # when the run command's build step runs
    done = subprocess.run(
        [sys.executable, "scripts/build_engine.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it does not fail the command, says so in a line, and records why
    assert done.returncode == 0, done.stderr
    assert "[setup] engine not compiled: no C compiler" in done.stdout
    note = json.loads((project / "build" / "engine" / build.FAILED).read_text())
    assert note["kind"] == "toolchain"
    # and the engine runs pure, saying why
    which = run_python(WHICH, "", cwd=project)
    assert which.stdout.startswith("pure engine: pure Python (not compiled: no C compiler (")
