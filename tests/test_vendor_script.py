"""scripts/_vendor.sh: the web UI's npm packages, installed by both README commands only when
package-lock.json changed, copied into static/vendor/; without npm it says so and goes on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.processes import ROOT
from tests.support.scripts import call_script_function

pytestmark = pytest.mark.slow

TOOLS = ("bash", "sha256sum", "cut", "cat", "mkdir", "cmp", "cp")


def ensure_vendor(project: Path, path: str) -> str:
    env = {"PATH": path, "HOME": os.environ.get("HOME", str(project))}  # npm's cache
    return call_script_function("_vendor.sh", "ensure_vendor", cwd=project, env=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_packages_are_installed_once_and_their_files_copied_into_static_vendor(project):
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js with npm (apt-get install -y nodejs npm)")
    path = f"{Path(npm).parent}:/usr/bin:/bin"
    assert "npm ci" in ensure_vendor(project, path)
    module = project / "static" / "vendor" / "lightweight-charts.mjs"
    assert module.read_bytes().startswith(b"/*!")  # the library's licence header
    assert (project / "static" / "vendor" / "lightweight-charts.LICENSE.txt").exists()
    # nothing to install the second time; a deleted copy comes back
    module.unlink()
    assert "npm ci" not in ensure_vendor(project, path)
    assert module.exists()
    # a damaged node_modules is installed again, not trusted for its stamp
    shutil.rmtree(project / "node_modules" / "lightweight-charts")
    assert "npm ci" in ensure_vendor(project, path)
    assert module.exists()


def test_a_missing_npm_is_reported_in_words_and_does_not_stop_the_command(project, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    out = ensure_vendor(project, str(bin_dir))
    assert "npm is missing" in out
    assert "apt-get install -y nodejs npm" in out
