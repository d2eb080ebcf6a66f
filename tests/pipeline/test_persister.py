"""The persister writes each event exactly once, however often a batch is delivered."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts.models import Balance, LedgerEntry, User
from accounts.selectors import fee_account_id
from matching.commands import Deposit, PlaceOrder
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.client import MatcherClient
from pipeline.event_reader import EventReader
from pipeline.keys import shard_keys
from pipeline.matcher_transport import MatcherTransport
from pipeline.persister import Persister
from pipeline.streams import PERSISTER_GROUP
from pipeline.transport import CommandLog, SubmitGuards
from pipeline.worker import Matcher
from tests import factories
from tests.support.pipeline import clear_id_caches
from trading.models import EventCheckpoint, Market, Order, OrderStatus, Trade
from trading.specs import market_spec

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]


@pytest.fixture
def market(markets: dict[str, Market]) -> Market:
    clear_id_caches()
    return markets["SOL_USDC"]


def _run_matcher(rds: redis.Redis, market: Market, alice: User, bob: User) -> Matcher:
    """alice rests a buy, bob sells into it: accepts, a trade, fees, a fill."""
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(market)], 1)
    log = CommandLog(rds)
    log.submit(
        "t0",
        Deposit("d1", 2, "11111111-1111-1111-1111-111111111111", alice.pk, "USDC", 1000 * 10**6),
        wait_s=0,
    )
    log.submit(
        "t0",
        Deposit("d2", 3, "22222222-2222-2222-2222-222222222222", bob.pk, "SOL", 10 * 10**9),
        wait_s=0,
    )
    for i, (account, side) in enumerate(((alice.pk, Side.BUY), (bob.pk, Side.SELL))):
        log.submit(
            "t0",
            PlaceOrder(
                f"p{i}",
                10 + i,
                500 + i,
                account,
                "SOL_USDC",
                side,
                OrderType.LIMIT,
                TimeInForce.GTC,
                15000,
                100,
                None,
                False,
                StpMode.EXPIRE_TAKER,
                None,
            ),
            wait_s=0,
        )
    while matcher.process(matcher.transport.read_batch(2, 10)):
        pass
    return matcher


def _persister(rds: redis.Redis) -> tuple[Persister, EventReader]:
    reader = EventReader(rds, "t0", PERSISTER_GROUP, "persister")
    persister = Persister(reader)
    persister.setup()
    return persister, reader


def test_a_redelivered_batch_changes_nothing_when_it_was_already_committed(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given the events of a trade, persisted once
    matcher = _run_matcher(rds, market, alice, bob)
    persister, reader = _persister(rds)
    batches = reader.read(100, 10)
    persister.apply(batches)
    counts = (Order.objects.count(), Trade.objects.count(), LedgerEntry.objects.count())

    # when the same entries are applied again (a crash between commit and XACK)
    applied = persister.apply(batches)

    # then nothing changed, and the checkpoint says how far we are
    assert applied == 0
    assert (Order.objects.count(), Trade.objects.count(), LedgerEntry.objects.count()) == counts
    assert EventCheckpoint.objects.get(stream="t0").last_seq == matcher.engine.seq
    assert rds.hget(shard_keys("t0").persisted, "seq") == str(matcher.engine.seq).encode()


def test_projections_equal_the_engine_when_a_trade_was_persisted(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    matcher = _run_matcher(rds, market, alice, bob)
    persister, reader = _persister(rds)
    persister.apply(reader.read(100, 10))

    assert Order.objects.get(pk=500).status == OrderStatus.FILLED
    assert Order.objects.get(pk=501).status == OrderStatus.FILLED
    trade = Trade.objects.get()
    assert (trade.price, trade.quantity, trade.quote_quantity) == (
        Decimal("150"),
        Decimal("1"),
        Decimal("150"),
    )
    for row in Balance.objects.select_related("asset"):
        available, locked = matcher.engine.balance(row.user_id, row.asset.code)
        scale = Decimal(10) ** row.asset.decimals
        assert (row.available * scale, row.locked * scale) == (available, locked)
    # every BalanceChanged became one ledger entry
    assert LedgerEntry.objects.filter(user=alice).count() >= 3
    assert factories  # personas come from tests/conftest.py


def test_a_lingering_persister_gathers_every_waiting_entry_into_one_write(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given several event entries waiting (the matcher ran batches of two commands)
    _run_matcher(rds, market, alice, bob)
    waiting = rds.xlen("ex:{t0}:events")
    assert waiting >= 3
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=20)
    persister.setup()

    # when it gathers a batch
    gathered = persister._gather()

    # then it took all of them for one transaction
    assert len(gathered) == waiting
    assert persister.apply(gathered) > 0


def test_a_persister_lingers_for_more_entries_when_nobody_waits(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given entries waiting and no reader waiting for them
    _run_matcher(rds, market, alice, bob)
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=400)
    persister.setup()

    # when it gathers a batch
    started = time.monotonic()
    gathered = persister._gather()

    # then it waited out its linger before writing
    assert time.monotonic() - started >= 0.35
    assert len(gathered) == rds.xlen("ex:{t0}:events")


def test_a_nudge_from_a_waiting_reader_cuts_the_linger_short(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given entries waiting, a persister that would linger 20 s, and a reader that nudged it
    _run_matcher(rds, market, alice, bob)
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=20_000)
    persister.setup()
    CommandLog(rds).nudge_persisters(["t0"])

    # when it gathers a batch
    started = time.monotonic()
    gathered = persister._gather()

    # then it did not linger, took every waiting entry, and consumed the nudge
    assert time.monotonic() - started < 5
    assert len(gathered) == rds.xlen("ex:{t0}:events")
    assert rds.llen(shard_keys("t0").persist_now) == 0


def test_nudges_from_many_readers_leave_one_element(rds: redis.Redis) -> None:
    log = CommandLog(rds)
    for _ in range(5):
        log.nudge_persisters(["t0", "t1"])
    assert rds.llen(shard_keys("t0").persist_now) == 1
    assert rds.llen(shard_keys("t1").persist_now) == 1


def test_a_read_your_writes_wait_is_not_held_up_by_the_linger(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given alice's write applied by the matcher, and a persister lingering up to 20 s
    log = CommandLog(rds)
    log.submit(
        "t0",
        Deposit("d9", 2, "99999999-9999-9999-9999-999999999999", alice.pk, "USDC", 10**6),
        SubmitGuards(writer=alice.pk),
        wait_s=0,
    )
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(market)], 1)
    while matcher.process(matcher.transport.read_batch(10, 10)):
        pass
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"), linger_ms=20_000)
    persister.setup()

    def persist_once() -> None:
        try:
            persister.apply(persister._gather())
        finally:
            connection.close()

    writer = threading.Thread(target=persist_once)
    writer.start()
    try:
        # when alice's read waits for her write to be persisted
        started = time.monotonic()
        stale = MatcherClient(settings.REDIS_URL, 2.0).read_barrier(
            alice.pk, timeout_s=10, shards=["t0"]
        )
    finally:
        CommandLog(rds).nudge_persisters(["t0"])  # never leave the thread lingering
        writer.join(timeout=30)

    # then it returned once persisted, well before the linger would have ended
    assert stale == []
    assert time.monotonic() - started < 5


def _place(log: CommandLog, n: int, account: int, side: Side, lots: int) -> None:
    cmd = PlaceOrder(
        f"q{n}", 20 + n, 600 + n, account, "SOL_USDC", side, OrderType.LIMIT,
        TimeInForce.GTC, 15000, lots, None, False, StpMode.EXPIRE_TAKER, None,
    )  # fmt: skip
    log.submit("t0", cmd, SubmitGuards(writer=account, placeholder=(600 + n, b"{}")), wait_s=0)


def test_placed_copies_go_when_their_orders_end_and_placeholders_when_written(
    rds: redis.Redis, market: Market, alice: User, bob: User
) -> None:
    # given alice's two buys, one of them then filled by bob, each sent with its placeholder
    matcher = _run_matcher(rds, market, alice, bob)
    log = CommandLog(rds)
    _place(log, 1, alice.pk, Side.BUY, 100)
    _place(log, 2, alice.pk, Side.BUY, 100)
    _place(log, 3, bob.pk, Side.SELL, 100)  # fills order 601
    while matcher.process(matcher.transport.read_batch(10, 10)):
        pass
    keys = shard_keys("t0")
    persister, reader = _persister(rds)
    batches = reader.read(100, 10)

    # when the persister commits them but its Redis step is lost (a crash), then the batch
    # comes again
    original = persister._after_commit
    persister._after_commit = lambda *args: None  # type: ignore[method-assign]
    persister.apply(batches)
    assert rds.hlen(keys.pending(alice.pk)) == 2  # nothing dropped yet
    persister._after_commit = original  # type: ignore[method-assign]
    assert persister.apply(batches) == 0  # already committed: nothing applied again

    # then every placeholder is gone (the rows exist), and only the open order keeps its copy
    assert rds.hlen(keys.pending(alice.pk)) == 0 and rds.hlen(keys.pending(bob.pk)) == 0
    assert rds.hkeys(keys.placed(alice.pk)) == [b"602"]
    assert rds.hlen(keys.placed(bob.pk)) == 0
    assert Order.objects.get(pk=601).status == OrderStatus.FILLED
    assert Order.objects.get(pk=602).status == OrderStatus.NEW
