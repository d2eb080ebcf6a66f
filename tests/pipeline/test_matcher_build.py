"""Which engine build a real ``run_matcher`` process loaded: its start-up line says it, from the
module it actually imported (matching.build.loaded_build), under each ENGINE_BUILD."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import redis
from django.db import connection

from matching import build
from tests.support.processes import Proc
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def matcher_start_line(mode: str, redis_url: str, log_dir: Path) -> str:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "MATCHER_SHARDS": "s0=*",
        "ENGINE_BUILD": mode,
        "LOG_LEVEL": "INFO",
    }
    matcher = Proc(
        f"matcher-{mode}",
        [sys.executable, "manage.py", "run_matcher", "--shard", "s0"],
        env,
        log_dir,
    )
    matcher.start()
    try:

        def start_line() -> str | None:
            lines = matcher.log_path.read_text(errors="replace").splitlines()
            return next((line for line in lines if "matcher s0: engine:" in line), None)

        line = wait_until(start_line, timeout=60, what="the matcher's start-up line")
        assert matcher.alive, matcher.tail()
        return line
    finally:
        matcher.stop()


def test_the_matcher_runs_the_pure_engine_when_engine_build_is_pure(
    rds: redis.Redis, redis_server: str, tmp_path: Path
) -> None:
    line = matcher_start_line("pure", redis_server, tmp_path)
    assert line.endswith("matcher s0: engine: pure Python (ENGINE_BUILD=pure)")


def test_the_matcher_runs_the_compiled_engine_when_it_is_built(
    rds: redis.Redis, redis_server: str, tmp_path: Path
) -> None:
    failed = build.failure(build.source_key())
    if failed is not None and failed["kind"] == "toolchain":
        pytest.skip(f"the engine cannot be compiled here: {failed['reason']}")
    line = matcher_start_line("", redis_server, tmp_path)
    assert "matcher s0: engine: compiled with mypyc (build/engine/" in line
