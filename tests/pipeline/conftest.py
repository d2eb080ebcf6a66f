"""Adapter tests: the real Matcher / Persister classes on the real Redis (test db) and Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from matching.transport import MatcherTransport, connect
from tests.support.pipeline import flush_exchange_keys


@pytest.fixture
def rds() -> Iterator[redis.Redis]:
    client = connect(settings.REDIS_URL)
    flush_exchange_keys(client)
    yield client
    flush_exchange_keys(client)


@pytest.fixture
def transport(rds: redis.Redis) -> MatcherTransport:
    return MatcherTransport(rds, "t0", "matcher")
