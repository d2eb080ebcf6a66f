"""Run one function of a scripts/*.sh file the way the README commands source it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.processes import ROOT


def call_script_function(script: str, call: str, *, cwd: Path, env: dict[str, str]) -> str:
    """``source scripts/<script>`` then run ``call`` in ``cwd``; its output, stdout and stderr
    together; fails the test if it exits non-zero."""
    done = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / script} && {call}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout + done.stderr
