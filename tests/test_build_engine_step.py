"""scripts/_venv.sh's ensure_engine, the build step of both README commands: it runs the
project's engine build, and a build step that crashes never stops the command (the pure engine
runs). What the build itself does: tests/matching/test_build.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.scripts import call_script_function


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "scripts").mkdir()
    return tmp_path


def ensure_engine(project: Path) -> str:
    return call_script_function(
        "_venv.sh", "ensure_engine", cwd=project, env={"PATH": "/usr/bin:/bin"}
    )


def test_the_build_step_runs_the_projects_engine_build(project: Path) -> None:
    (project / "scripts" / "build_engine.py").write_text("print('[setup] engine built')\n")
    assert ensure_engine(project).strip() == "[setup] engine built"


def test_the_command_goes_on_with_the_pure_engine_when_the_build_step_crashes(
    project: Path,
) -> None:
    (project / "scripts" / "build_engine.py").write_text("raise SystemExit(3)\n")
    out = ensure_engine(project)  # fails the test if it exits non-zero
    assert "the engine's build step failed: the pure Python engine runs" in out


def test_nothing_is_built_in_a_project_without_the_engine(project: Path) -> None:
    assert ensure_engine(project) == ""
