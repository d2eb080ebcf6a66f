"""scripts/_venv.sh, the install step of both README commands: it installs only what changed,
and plain pip works without uv (INSTALLER=pip, or whenever uv cannot be had)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.scripts import call_script_function

pytestmark = pytest.mark.slow


def ensure_venv(project: Path, requirements: str, **env: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project), **env}
    return call_script_function("_venv.sh", f"ensure_venv {requirements}", cwd=project, env=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    # requirements that install nothing: the test is the script's logic, not PyPI
    (tmp_path / "requirements.txt").write_text("# runtime\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\n")
    return tmp_path


def test_plain_pip_installs_when_uv_is_not_wanted(project: Path) -> None:
    out = ensure_venv(project, "requirements.txt", INSTALLER="pip")
    assert "installing requirements.txt" in out
    assert not (project / ".venv" / "bin" / "uv").exists()
    assert (project / ".venv" / ".installed-requirements.txt").exists()


def test_nothing_is_installed_again_until_a_requirements_file_changes(project: Path) -> None:
    ensure_venv(project, "requirements-dev.txt", INSTALLER="pip")
    # a run after the tests' install: the dev requirements include the runtime ones
    assert "installing" not in ensure_venv(project, "requirements.txt", INSTALLER="pip")
    (project / "requirements.txt").write_text("# runtime, changed\n")
    assert "installing" in ensure_venv(project, "requirements.txt", INSTALLER="pip")
