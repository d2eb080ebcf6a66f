"""The persister refuses a database and a Redis from different histories, in words that say
how to start fresh, and runs on when they belong together (a crash between commit and ack)."""

from __future__ import annotations

import pytest
import redis

from accounts.models import User
from pipeline.event_reader import EventReader
from pipeline.persister import Persister, PersisterError
from pipeline.streams import PERSISTER_GROUP
from tests.pipeline.test_persister import _run_matcher
from tests.support.pipeline import clear_id_caches
from trading.models import EventCheckpoint, Market

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def market(markets: dict[str, Market]) -> Market:
    clear_id_caches()
    return markets["SOL_USDC"]


def _persister(rds: redis.Redis) -> Persister:
    return Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"))


def test_a_database_ahead_of_redis_is_refused_when_redis_was_reset(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given a database that persisted seq 50 of a shard whose Redis is new
    EventCheckpoint.objects.create(stream="t0", last_seq=50)

    # when the persister starts, it refuses, saying what happened and how to start fresh
    with pytest.raises(PersisterError) as refused:
        _persister(rds).setup()
    message = str(refused.value)
    assert "different histories" in message and "Redis was reset or replaced" in message
    assert "./scripts/run --reset-local-data" in message


def test_a_new_database_beside_an_old_redis_is_refused(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given a shard whose events were all persisted and acked
    matcher = _run_matcher(rds, market, alice, bob)
    persister = _persister(rds)
    persister.setup()
    persister.apply(persister.reader.read(100, 10))
    assert persister.reader.acked_seq() == matcher.engine.seq

    # when the database is replaced by an empty one (its checkpoint starts again at 0)
    EventCheckpoint.objects.filter(stream="t0").update(last_seq=0)

    # then a persister refuses to start: those events would never be written to it
    with pytest.raises(PersisterError) as refused:
        _persister(rds).setup()
    message = str(refused.value)
    assert f"up to seq {matcher.engine.seq}" in message and "only up to seq 0" in message
    assert "database was reset or replaced" in message
    assert "./scripts/run --reset-local-data" in message


def test_a_persister_starts_when_it_crashed_between_its_commit_and_its_ack(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given events delivered to the persister group and never acked (the process died)
    matcher = _run_matcher(rds, market, alice, bob)
    first = _persister(rds)
    first.setup()
    delivered = first.reader.read(100, 10)
    assert delivered and first.reader.acked_seq() == 0

    # when a new persister starts on the same database, it is not refused and catches up
    second = _persister(rds)
    second.setup()
    while pending := second.reader.read(100, 0, pending=True):
        second.apply(pending)
    assert EventCheckpoint.objects.get(stream="t0").last_seq == matcher.engine.seq
    assert second.reader.acked_seq() == matcher.engine.seq
