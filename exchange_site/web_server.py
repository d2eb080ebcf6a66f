"""The REST server: ``python -m exchange_site.web_server`` (the Procfile's ``web`` line) execs
Django over WSGI in granian, or gunicorn with ``WEB_SERVER=gunicorn``, set from the environment:
HOST, PORT, WEB_WORKERS, WEB_THREADS, WEB_MAX_CONNECTIONS, ACCESS_LOG, LOG_LEVEL.

The argv is built here rather than written in the Procfile because a Procfile line cannot choose
between two servers; the integration tests and bench/stack.sh start the same argv.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

WEB_SERVERS = ("granian", "gunicorn")
GRANIAN_LOG_CONFIG = Path(__file__).with_name("granian_logging.json")


def web_server(
    python: str,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int | None = None,
    server: str | None = None,
    log_level: str = "warning",
) -> tuple[str, ...]:
    """The REST server's argv: Django over WSGI, ``workers`` processes of ``threads`` threads.

    granian by default (``WEB_SERVER``): its HTTP side is Rust, so a request costs the worker's
    GIL only for Django itself. Against gunicorn's gthread worker, whose poller and parser are
    Python, on the same stack: p99 at 500 orders/s 15 ms against 24-30 ms, a trivial request
    0.6-0.7 ms of CPU against 0.9-1.0 ms (docs/performance.md, "Serving"). gunicorn stays for
    comparison (bench/stack.sh runs it as the benchmark's trivial-endpoint baseline) and as a
    fallback. Each thread may wait on the matcher's reply up to ORDER_REPLY_TIMEOUT.
    """
    server = server or os.environ.get("WEB_SERVER", "granian")
    threads = threads or int(os.environ.get("WEB_THREADS", "16"))
    app = "exchange_site.wsgi:application"
    access_log = os.environ.get("ACCESS_LOG") == "1"  # a line per request costs CPU; off
    if server == "granian":
        return (
            python,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            # granian's backpressure caps the connections a worker holds open, idle keep-alive
            # ones included (not requests in flight: those wait for a blocking thread). Past it
            # a new client waits until some connection closes, so it is set as high as
            # gunicorn's worker_connections default, not left at backlog / workers.
            "--backpressure",
            os.environ.get("WEB_MAX_CONNECTIONS", "1000"),
            "--backlog",
            "2048",
            "--no-ws",  # WebSockets are uvicorn's (ASGI), on their own port
            "--respawn-failed-workers",
            "--log-level",
            log_level,  # warning: not its start lines, one per worker
            # Drops only its advice against this many threads (measured: docs/performance.md).
            "--log-config",
            str(GRANIAN_LOG_CONFIG),
            *(("--access-log",) if access_log else ()),
            app,
        )
    if server == "gunicorn":
        return (
            python,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"{host}:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
            *(("--access-logfile", "-") if access_log else ()),
        )
    raise ValueError(f"WEB_SERVER must be one of {', '.join(WEB_SERVERS)}, not {server!r}")


def main() -> None:
    argv = web_server(
        sys.executable,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WEB_WORKERS", "2")),
        log_level=os.environ.get("LOG_LEVEL", "INFO").lower(),
    )
    os.execv(argv[0], argv)  # noqa: S606 - becomes the server: signals reach it directly


if __name__ == "__main__":
    main()
