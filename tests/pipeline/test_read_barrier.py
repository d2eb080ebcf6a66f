"""Past the read-your-writes wait, may the database lack one of the user's own writes?

``CommandLog.applied_unpersisted`` tells a read that timed out whether only the matcher is
behind (the user's unapplied orders are in their placeholders; the read may go on) or the
persister is behind the matcher (an applied write may be missing; the read answers 503).
"""

from __future__ import annotations

import pytest
import redis
from django.db import connection

from accounts.models import User
from accounts.selectors import fee_account_id
from matching.commands import Deposit
from matching.persister import Persister
from matching.transport import PERSISTER_GROUP, CommandLog, EventReader, MatcherTransport
from matching.worker import Matcher
from tests.support.pipeline import clear_id_caches
from trading.models import Market
from trading.specs import market_spec

pytestmark = pytest.mark.django_db(transaction=True)


def _deposit(log: CommandLog, n: int, user: User) -> None:
    cmd = Deposit(f"rb{n}", n, f"{n:08d}-0000-0000-0000-000000000000", user.pk, "USDC", 10**6)
    log.submit("t0", cmd, wait_s=0, user=user.pk)


@pytest.fixture
def stages(rds: redis.Redis, markets: dict[str, Market]) -> tuple[Matcher, Persister]:
    clear_id_caches()
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(markets["SOL_USDC"])], 1)
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=0)
    persister.setup()
    return matcher, persister


def _match(matcher: Matcher) -> None:
    while matcher.process(matcher.transport.read_batch(100, 10)):
        pass


def _persist(persister: Persister) -> None:
    try:
        persister.apply(persister._gather())
    finally:
        connection.close()


def test_only_the_matcher_is_behind_when_nothing_was_applied_yet(
    rds: redis.Redis, alice: User
) -> None:
    log = CommandLog(rds)
    _deposit(log, 1, alice)  # no matcher has run on this shard
    assert log.unseen_writes(["t0"], alice.pk) == ["t0"]
    assert log.applied_unpersisted(["t0"], alice.pk) == []


def test_an_applied_write_is_unpersisted_until_the_persister_commits_it(
    rds: redis.Redis, stages: tuple[Matcher, Persister], alice: User
) -> None:
    matcher, persister = stages
    log = CommandLog(rds)
    _deposit(log, 1, alice)

    _match(matcher)
    assert log.applied_unpersisted(["t0"], alice.pk) == ["t0"]

    _persist(persister)
    assert log.unseen_writes(["t0"], alice.pk) == []
    assert log.applied_unpersisted(["t0"], alice.pk) == []


def test_a_write_the_matcher_has_not_applied_is_not_missing_from_the_database(
    rds: redis.Redis, stages: tuple[Matcher, Persister], alice: User
) -> None:
    # given everything applied so far persisted, then a write the matcher has not read yet
    matcher, persister = stages
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _persist(persister)
    _deposit(log, 2, alice)

    assert log.unseen_writes(["t0"], alice.pk) == ["t0"]
    assert log.applied_unpersisted(["t0"], alice.pk) == []


def test_a_lagging_persister_counts_even_before_the_users_newest_write_is_applied(
    rds: redis.Redis, stages: tuple[Matcher, Persister], alice: User, bob: User
) -> None:
    # given alice's first write applied but not persisted, and her second not applied yet:
    # which of her writes lie in between is not kept, so it counts (the safe side)
    matcher, _ = stages
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _deposit(log, 2, alice)

    assert log.applied_unpersisted(["t0"], alice.pk) == ["t0"]
    # bob has sent nothing: his reads never wait, whatever the persister's lag
    assert log.applied_unpersisted(["t0"], bob.pk) == []
