"""The read barrier: a private read reflects every command the matcher had applied when it began.

``MatcherClient.read_barrier`` waits until the persister has committed everything the matcher
had applied (whoever sent it: a fill of the reader's resting order is the taker's command) and
everything the reader sent. Past its timeout it returns the shards where the database may lack
an applied command (the read answers 503); what only the matcher has not applied yet does not
count (the reader's unapplied orders are in their "pending" placeholders).
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts.models import User
from accounts.selectors import fee_account_id
from matching.client import MatcherClient, Position
from matching.commands import Deposit
from matching.persister import Persister
from matching.transport import (
    PERSISTER_GROUP,
    CommandLog,
    EventReader,
    MatcherTransport,
    shard_keys,
)
from matching.worker import Matcher
from tests.support.pipeline import clear_id_caches
from trading.models import Market
from trading.specs import market_spec

pytestmark = pytest.mark.django_db(transaction=True)

SHARDS = ["t0"]


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


@pytest.fixture
def client() -> MatcherClient:
    return MatcherClient(settings.REDIS_URL, 2.0)


def _match(matcher: Matcher) -> None:
    while matcher.process(matcher.transport.read_batch(100, 10)):
        pass


def _persist(persister: Persister) -> None:
    try:
        persister.apply(persister._gather())
    finally:
        connection.close()


def test_a_read_waits_for_a_command_of_another_user_that_the_matcher_applied(
    rds: redis.Redis,
    client: MatcherClient,
    markets: dict[str, Market],
    alice: User,
    bob: User,
) -> None:
    # given alice's deposit applied by the matcher, and a persister lingering up to 20 s
    clear_id_caches()
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(markets["SOL_USDC"])], 1)
    _match(matcher)
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=20_000)
    persister.setup()
    writer = threading.Thread(target=_persist, args=(persister,))
    writer.start()
    try:
        # when bob, who sent nothing, reads
        started = time.monotonic()
        stale = client.read_barrier(bob.pk, timeout_s=10, shards=SHARDS)
    finally:
        log.nudge_persisters(SHARDS)  # never leave the thread lingering
        writer.join(timeout=30)

    # then his read waited for alice's deposit to be recorded, nudging the persister
    assert stale == []
    assert time.monotonic() - started < 5
    assert int(rds.hget(shard_keys("t0").persisted, "seq") or 0) == matcher.engine.seq


def test_every_read_answers_stale_while_an_applied_command_is_unpersisted(
    rds: redis.Redis,
    stages: tuple[Matcher, Persister],
    client: MatcherClient,
    alice: User,
    bob: User,
) -> None:
    matcher, persister = stages
    _deposit(CommandLog(rds), 1, alice)
    _match(matcher)

    assert client.read_barrier(alice.pk, 0.05, SHARDS) == ["t0"]
    assert client.read_barrier(bob.pk, 0.05, SHARDS) == ["t0"]  # he sent nothing

    _persist(persister)
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []
    assert client.read_barrier(bob.pk, 0.05, SHARDS) == []


def test_own_only_waits_for_the_readers_commands_and_no_one_elses(
    rds: redis.Redis,
    stages: tuple[Matcher, Persister],
    client: MatcherClient,
    alice: User,
    bob: User,
) -> None:
    matcher, _ = stages
    _deposit(CommandLog(rds), 1, alice)
    _match(matcher)

    started = time.monotonic()
    assert client.read_barrier(bob.pk, 5, SHARDS, own_only=True) == []
    assert time.monotonic() - started < 1  # no wait: nothing of bob's is missing
    assert client.read_barrier(alice.pk, 0.05, SHARDS, own_only=True) == ["t0"]


def test_only_the_matcher_is_behind_when_nothing_was_applied_yet(
    rds: redis.Redis, client: MatcherClient, alice: User
) -> None:
    _deposit(CommandLog(rds), 1, alice)  # no matcher has run on this shard

    # the read waits for alice's write, then goes on: nothing is applied and missing
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_a_write_the_matcher_has_not_applied_is_not_missing_from_the_database(
    rds: redis.Redis, stages: tuple[Matcher, Persister], client: MatcherClient, alice: User
) -> None:
    # given everything applied so far persisted, then a write the matcher has not read yet
    matcher, persister = stages
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _persist(persister)
    _deposit(log, 2, alice)

    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_a_lagging_persister_counts_even_before_the_readers_newest_write_is_applied(
    rds: redis.Redis, stages: tuple[Matcher, Persister], client: MatcherClient, alice: User
) -> None:
    # given alice's first write applied but not persisted, and her second not applied yet
    matcher, _ = stages
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _deposit(log, 2, alice)

    assert client.read_barrier(alice.pk, 0.05, SHARDS) == ["t0"]


def test_a_caught_up_persister_costs_one_round_trip_and_no_nudge(
    rds: redis.Redis,
    stages: tuple[Matcher, Persister],
    client: MatcherClient,
    alice: User,
    bob: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher, persister = stages
    _deposit(CommandLog(rds), 1, alice)
    _match(matcher)
    _persist(persister)
    calls = []
    positions = client.log.barrier_positions

    def counted(
        shards: list[str], user: int
    ) -> list[tuple[bytes | None, bytes | None, bytes | None]]:
        calls.append(user)
        return positions(shards, user)

    monkeypatch.setattr(client.log, "barrier_positions", counted)

    assert client.read_barrier(bob.pk, 2, SHARDS) == []
    assert client.read_barrier(alice.pk, 2, SHARDS) == []
    assert calls == [bob.pk, alice.pk]
    assert rds.llen(shard_keys("t0").persist_now) == 0


ID = {"none": None, "1": b"1-0", "2": b"2-0", "3": b"3-0"}


@pytest.mark.parametrize(
    ("wrote", "persisted", "applied", "at_start", "lacks", "stale"),
    [
        # caught up with what was applied at the start and with the reader's own write
        ("1", "2", "2", "2", False, False),
        # applied at the start, not recorded: wait, and past the wait the read is stale
        ("none", "1", "2", "2", True, True),
        # applied after the read began (by someone else): not waited for
        ("none", "1", "3", "1", False, False),
        # the reader's own write, not applied yet: waited for; past the wait not stale
        ("3", "2", "2", "2", True, False),
        # the reader's own write, applied since the read began, not recorded: stale
        ("3", "2", "3", "2", True, True),
    ],
)
def test_a_position_tells_what_a_read_waits_for_and_when_it_is_stale(
    wrote: str, persisted: str, applied: str, at_start: str, lacks: bool, stale: bool
) -> None:
    position = Position.of(ID[wrote], ID[persisted], ID[applied])
    start = Position.of(None, None, ID[at_start]).applied
    assert (position.lacks(start), position.stale(start)) == (lacks, stale)
