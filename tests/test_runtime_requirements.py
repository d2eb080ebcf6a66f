"""The run command installs requirements.txt alone; the tests' virtualenv also has the dev tools,
which bring packages of their own (pytest brings ``packaging``, which kombu's Redis transport
imports without declaring it). So every process of the Procfile is started here from a
virtualenv that has requirements.txt and nothing else, far enough to have imported what it
needs at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# What each Procfile line imports before it serves (web, ws, matcher, persister, publisher, the
# Celery worker and beat with the Redis broker), then Django's system checks.
STARTUP = """
import os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "exchange_site.settings"
django.setup()
import celery.apps.beat, celery.apps.worker, kombu.transport.redis
import granian, gunicorn.app.wsgiapp, honcho.manager, uvicorn.main
import exchange_site.asgi, exchange_site.celery, exchange_site.web_server, exchange_site.wsgi
from django.core.management import call_command, load_command_class
for app, name in [
    ("pipeline", "run_matcher"), ("pipeline", "run_persister"),
    ("marketdata", "run_publisher"), ("exchange_site", "run_exchange"),
]:
    load_command_class(app, name)
call_command("check")
exchange_site.celery.app.loader.import_default_modules()
print("imported")
"""


def runtime_venv(where: Path, requirements: Path) -> Path:
    """A virtualenv with ``requirements`` installed and nothing else (uv when the tests' venv
    has it, as the run command prefers; pip otherwise)."""
    venv = where / "venv"
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, venv], check=True)
        install: list[str | Path] = [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            venv / "bin" / "python",
        ]
    else:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        install = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    subprocess.run([*install, "-r", requirements], check=True, cwd=ROOT)
    return venv / "bin" / "python"


def test_every_process_starts_with_the_runtime_requirements_alone(tmp_path: Path) -> None:
    python = runtime_venv(tmp_path, ROOT / "requirements.txt")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),  # SQLite and the embedded Redis's place, unused here
        "ENGINE_BUILD": "pure",
    }
    done = subprocess.run(
        [python, "-c", STARTUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("imported")
