"""Adapter tests: the real Matcher / Persister classes on the real Redis (test db) and Postgres.

Every test here runs twice: on the local Redis and on the embedded 6.2 of the zero-config run
(tests/support/embedded_redis.py), since this is the code that talks to Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from pipeline.matcher_transport import MatcherTransport
from pipeline.wire import connect
from tests.support.pipeline import flush_exchange_keys


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_server" in metafunc.fixturenames:
        metafunc.parametrize("redis_server", ["local", "embedded"], indirect=True)


@pytest.fixture(autouse=True)
def on_redis_server(redis_server: str) -> str:
    """Points settings.REDIS_URL (and the cache) at this run's server before anything connects."""
    return redis_server


@pytest.fixture
def rds(redis_server: str) -> Iterator[redis.Redis]:
    client = connect(redis_server)
    flush_exchange_keys(client)
    yield client
    flush_exchange_keys(client)


@pytest.fixture
def transport(rds: redis.Redis) -> MatcherTransport:
    return MatcherTransport(rds, "t0", "matcher")
