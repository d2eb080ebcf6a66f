"""Market rows follow the engine: the persister writes them from MarketAdded / MarketUpdated,
and a matcher starting while they may lag does not push them back over the engine's."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import redis
from django.db import connection

from accounts.models import Asset, User
from accounts.selectors import fee_account_id
from accounts.services import asset_upsert
from matching.commands import AddMarket, Deposit, PlaceOrder, UpdateMarket
from matching.types import AssetSpec, OrderType, Side, StpMode, TimeInForce
from pipeline.event_reader import EventReader
from pipeline.matcher_transport import MatcherTransport
from pipeline.persister import Persister
from pipeline.streams import PERSISTER_GROUP
from pipeline.transport import CommandLog
from pipeline.worker import Matcher
from tests.support.pipeline import clear_id_caches
from tests.support.specs import SOL_USDC
from trading.models import Market, Order
from trading.specs import cached_market

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]

DOGE_USDC = dataclasses.replace(
    SOL_USDC,
    symbol="DOGE_USDC",
    base=AssetSpec("DOGE", 8),
    tick_size=Decimal("0.0001"),
    lot_size=Decimal("1"),
)


def _drain(matcher: Matcher) -> None:
    while matcher.process(matcher.transport.read_batch(100, 10)):
        pass


def _persist_all(rds: redis.Redis) -> Persister:
    persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"))
    persister.setup()
    try:
        while persister.apply(persister.reader.read(100, 10)):
            pass
    finally:
        connection.close()
    return persister


@pytest.fixture
def matcher(rds: redis.Redis, assets: dict[str, Asset]) -> Matcher:
    clear_id_caches()
    running = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    running.recover()
    return running


def test_the_persister_writes_a_market_the_matcher_added_before_its_first_orders(
    rds: redis.Redis, matcher: Matcher, alice: User
) -> None:
    # given a new asset, and in one batch: DOGE_USDC added, a deposit, an order in it
    asset_upsert("DOGE", name="Dogecoin", decimals=8)
    log = CommandLog(rds)
    log.submit("t0", AddMarket("a1", 1, DOGE_USDC), wait_s=0)
    log.submit("t0", Deposit("d1", 2, "t1", alice.pk, "USDC", 10**9), wait_s=0)
    order = PlaceOrder(
        "p1", 3, 700, alice.pk, "DOGE_USDC", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
        1234, 100, None, False, StpMode.EXPIRE_TAKER, None,
    )  # fmt: skip
    log.submit("t0", order, wait_s=0)
    _drain(matcher)

    # when the persister writes that batch in one transaction
    _persist_all(rds)

    # then the market's row exists as the engine has it, and the order refers to it
    row = Market.objects.get(symbol="DOGE_USDC")
    assert (row.base.code, row.quote.code, row.tick_size, row.status) == (
        "DOGE",
        "USDC",
        Decimal("0.0001"),
        "trading",
    )
    placed = Order.objects.get(pk=700)
    assert (placed.market_id, placed.price) == (row.pk, Decimal("0.1234"))


def test_an_update_reaches_the_row_and_the_persisters_next_events(
    rds: redis.Redis, matcher: Matcher, markets: dict[str, Market]
) -> None:
    # given SOL_USDC cached by this process at its 0.01 tick
    matcher.sync_markets([SOL_USDC], 1)
    _drain(matcher)
    _persist_all(rds)
    assert cached_market("SOL_USDC")[1].tick_size == Decimal("0.01")

    # when the matcher applies a tick of 0.1 (an empty book) and the persister records it
    coarser = dataclasses.replace(SOL_USDC, tick_size=Decimal("0.1"))
    CommandLog(rds).submit("t0", UpdateMarket("u1", 5, coarser), wait_s=0)
    _drain(matcher)
    _persist_all(rds)

    # then the row has it, and so does this process's cache at once
    assert Market.objects.get(symbol="SOL_USDC").tick_size == Decimal("0.1")
    assert cached_market("SOL_USDC")[1].tick_size == Decimal("0.1")


def test_a_starting_matcher_pushes_differing_rows_only_when_they_cannot_be_lagging(
    rds: redis.Redis, matcher: Matcher, markets: dict[str, Market]
) -> None:
    # given the engine's SOL_USDC at a taker fee of 0.005, the row still at 0.002
    matcher.sync_markets([SOL_USDC], 1)
    higher = dataclasses.replace(SOL_USDC, taker_fee_rate=Decimal("0.005"))
    CommandLog(rds).submit("t0", UpdateMarket("u1", 5, higher), wait_s=0)
    _drain(matcher)

    # when the persister may be behind: the row is not pushed over the engine's market
    assert matcher.sync_markets([SOL_USDC], 10, update=False) == 0
    # when it cannot be (a row written directly, by a seed): it is
    assert matcher.sync_markets([SOL_USDC], 11) == 1
    _drain(matcher)
    spec = matcher.engine.market("SOL_USDC")
    assert spec is not None and spec.taker_fee_rate == Decimal("0.002")
