"""The read barrier: a private read reflects every applied command that changed the reader.

``MatcherClient.read_barrier`` waits until the persister has committed every command the reader
sent and every batch that changed the reader on someone else's command (a fill of a resting
order: the matcher marks the makers of a batch's trades in that batch's commit). Past its
timeout it returns the shards where the database may lack such an applied command (the read
answers 503); what only the matcher has not applied yet does not count (the reader's unapplied
orders are in their "pending" placeholders), and neither does anything that did not touch the
reader.
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
from matching.commands import Deposit, PlaceOrder
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.client import MatcherClient, Position
from pipeline.event_reader import EventReader
from pipeline.keys import shard_keys
from pipeline.matcher_transport import MatcherTransport
from pipeline.persister import Persister
from pipeline.streams import PERSISTER_GROUP
from pipeline.transport import CommandLog, SubmitGuards
from pipeline.worker import Matcher
from tests.support.pipeline import clear_id_caches
from trading.models import Market
from trading.specs import market_spec

pytestmark = pytest.mark.django_db(transaction=True)

SHARDS = ["t0"]


def _deposit(log: CommandLog, n: int, user: User, asset: str = "USDC") -> None:
    cmd = Deposit(f"rb{n}", n, f"{n:08d}-0000-0000-0000-000000000000", user.pk, asset, 10**12)
    log.submit("t0", cmd, SubmitGuards(writer=user.pk), wait_s=0)


def _order(log: CommandLog, n: int, user: User, side: Side) -> None:
    cmd = PlaceOrder(
        f"o{n}", n, 800 + n, user.pk, "SOL_USDC", side, OrderType.LIMIT, TimeInForce.GTC,
        1000, 100, None, False, StpMode.EXPIRE_TAKER, None,
    )  # fmt: skip
    log.submit("t0", cmd, SubmitGuards(writer=user.pk), wait_s=0)


@pytest.fixture
def matcher(rds: redis.Redis, markets: dict[str, Market]) -> Matcher:
    clear_id_caches()
    running = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    running.recover()
    running.sync_markets([market_spec(markets["SOL_USDC"])], 1)
    return running


@pytest.fixture
def persister(rds: redis.Redis, matcher: Matcher) -> Persister:
    writer = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=0)
    writer.setup()
    return writer


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


@pytest.fixture
def filled(
    rds: redis.Redis, matcher: Matcher, persister: Persister, alice: User, bob: User
) -> CommandLog:
    """Alice's resting buy, recorded; then bob's sell, which fills it, applied by the matcher
    and not recorded yet."""
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _deposit(log, 2, bob, "SOL")
    _order(log, 3, alice, Side.BUY)
    _match(matcher)
    _persist(persister)
    _order(log, 4, bob, Side.SELL)
    _match(matcher)
    return log


def test_a_makers_read_waits_for_the_takers_fill_and_nudges_the_persister(
    rds: redis.Redis, client: MatcherClient, filled: CommandLog, alice: User
) -> None:
    # given a persister that would linger 20 s before writing the fill
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=20_000)
    persister.setup()
    writer = threading.Thread(target=_persist, args=(persister,))
    writer.start()
    try:
        # when alice, whose own writes are all recorded, reads
        started = time.monotonic()
        stale = client.read_barrier(alice.pk, timeout_s=10, shards=SHARDS)
    finally:
        filled.nudge_persisters(SHARDS)  # never leave the thread lingering
        writer.join(timeout=30)

    # then her read waited for bob's fill to be recorded, well before the linger would end
    assert stale == []
    assert time.monotonic() - started < 5
    assert rds.hget(shard_keys("t0").writes(alice.pk), "touched") is not None


def test_a_maker_reads_stale_while_the_fill_is_unrecorded_and_others_are_not_held_up(
    client: MatcherClient, filled: CommandLog, persister: Persister, alice: User, charlie: User
) -> None:
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == ["t0"]  # touched, not recorded
    assert client.read_barrier(charlie.pk, 0.05, SHARDS) == []  # nothing of his is missing

    _persist(persister)
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_own_only_ignores_fills(client: MatcherClient, filled: CommandLog, alice: User) -> None:
    started = time.monotonic()
    assert client.read_barrier(alice.pk, 5, SHARDS, own_only=True) == []
    assert time.monotonic() - started < 1


def test_an_applied_write_is_unrecorded_until_the_persister_commits_it(
    rds: redis.Redis, matcher: Matcher, persister: Persister, client: MatcherClient, alice: User
) -> None:
    _deposit(CommandLog(rds), 1, alice)
    _match(matcher)
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == ["t0"]

    _persist(persister)
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_only_the_matcher_is_behind_when_nothing_was_applied_yet(
    rds: redis.Redis, client: MatcherClient, alice: User
) -> None:
    _deposit(CommandLog(rds), 1, alice)  # no matcher has run on this shard

    # the read waits for alice's write, then goes on: nothing is applied and missing
    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_a_write_the_matcher_has_not_applied_is_not_missing_from_the_database(
    rds: redis.Redis, matcher: Matcher, persister: Persister, client: MatcherClient, alice: User
) -> None:
    # given everything applied so far persisted, then a write the matcher has not read yet
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _persist(persister)
    _deposit(log, 2, alice)

    assert client.read_barrier(alice.pk, 0.05, SHARDS) == []


def test_a_lagging_persister_counts_even_before_the_readers_newest_write_is_applied(
    rds: redis.Redis, matcher: Matcher, client: MatcherClient, alice: User
) -> None:
    # given alice's first write applied but not persisted, and her second not applied yet
    log = CommandLog(rds)
    _deposit(log, 1, alice)
    _match(matcher)
    _deposit(log, 2, alice)

    assert client.read_barrier(alice.pk, 0.05, SHARDS) == ["t0"]


def test_a_read_with_nothing_missing_costs_one_round_trip_and_no_nudge(
    rds: redis.Redis,
    client: MatcherClient,
    filled: CommandLog,
    persister: Persister,
    alice: User,
    charlie: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    positions = client.log.barrier_positions

    def counted(
        shards: list[str], user: int
    ) -> list[tuple[bytes | None, bytes | None, bytes | None, bytes | None]]:
        calls.append(user)
        return positions(shards, user)

    monkeypatch.setattr(client.log, "barrier_positions", counted)

    # charlie, untouched, reads while the persister is behind: no wait at all
    assert client.read_barrier(charlie.pk, 2, SHARDS) == []
    _persist(persister)
    # alice, once her fill is recorded
    assert client.read_barrier(alice.pk, 2, SHARDS) == []
    assert calls == [charlie.pk, alice.pk]
    assert rds.llen(shard_keys("t0").persist_now) == 0


ID = {"-": None, "1": b"1-0", "2": b"2-0", "3": b"3-0"}


@pytest.mark.parametrize(
    ("wrote", "touched", "persisted", "applied", "lacks", "stale"),
    [
        # everything of the reader's recorded
        ("1", "2", "2", "3", False, False),
        # a fill of the reader's, applied, not recorded: wait, and past the wait stale
        ("-", "2", "1", "2", True, True),
        # someone else's command, applied, not recorded, not touching the reader: no wait
        ("-", "-", "1", "3", False, False),
        # the reader's own write, not applied yet: waited for; past the wait not stale
        ("3", "-", "2", "2", True, False),
        # the reader's own write, applied, not recorded: stale
        ("3", "-", "2", "3", True, True),
    ],
)
def test_a_position_tells_what_a_read_waits_for_and_when_it_is_stale(
    wrote: str, touched: str, persisted: str, applied: str, lacks: bool, stale: bool
) -> None:
    position = Position.of(ID[wrote], ID[touched], ID[persisted], ID[applied])
    assert (position.lacks(), position.stale()) == (lacks, stale)
