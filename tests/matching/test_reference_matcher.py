"""The engine against a naive reference matcher (``tests.matching.reference``) on seeded random
streams: same trades, same book, same untriggered orders. Every account is funded far beyond
what the stream can spend."""

from __future__ import annotations

import itertools

import pytest

from matching.commands import PlaceOrder, Tick
from matching.events import OrderExpired, TradeExecuted
from matching.types import OrderType, Side, StpMode, TimeInForce
from tests.matching import streams
from tests.matching.builders import BTC, LOT, SYM, USD, deposit, new_engine
from tests.matching.reference import ReferenceMatcher


@pytest.mark.parametrize("seed", range(8))
def test_engine_trades_like_the_reference_when_fed_a_seeded_stream(seed: int) -> None:
    # given: an engine and a reference, six very rich accounts
    engine = new_engine(spec=streams.LOW_MIN_SPEC)
    for account in range(1, 7):
        engine.apply(deposit(account, BTC, 10**9 * LOT))
        engine.apply(deposit(account, USD, 10**12))
    reference = ReferenceMatcher()
    stream = streams.seeded_orders(seed, 3_000)
    trades: list[tuple[int, int, int, int]] = []
    # when: both see the same stream
    for cmd in stream:
        reference.apply(cmd)
        for ev in engine.apply(cmd):
            if isinstance(ev, TradeExecuted):
                trades.append((ev.maker_order_id, ev.taker_order_id, ev.price, ev.quantity))
    # then: the same trades in the same order, and the same resting book
    engine.validate()
    assert len(trades) > 500
    assert trades == reference.trades
    depth = engine.depth(SYM, 1_000)
    assert (depth.bids, depth.asks) == reference.depth()


@pytest.mark.parametrize("seed", range(6))
def test_engine_triggers_like_the_reference_when_the_stream_has_conditional_orders(
    seed: int,
) -> None:
    # given: an engine and a reference, six very rich accounts
    engine = new_engine(spec=streams.LOW_MIN_SPEC)
    for account in range(1, 7):
        engine.apply(deposit(account, BTC, 10**9 * LOT))
        engine.apply(deposit(account, USD, 10**12))
    reference = ReferenceMatcher()
    stream = streams.seeded_conditional_orders(seed, 2_000)
    trades: list[tuple[int, int, int, int]] = []
    triggered = 0
    # when: both see a stream with stop / take-profit / trailing orders, validate every step
    for cmd in stream:
        reference.apply(cmd)
        for ev in engine.apply(cmd):
            if isinstance(ev, TradeExecuted):
                trades.append((ev.maker_order_id, ev.taker_order_id, ev.price, ev.quantity))
            triggered += type(ev).__name__ == "OrderTriggered"
        engine.validate()
    # then: the same trades in the same order, the same book, the same orders still waiting
    assert triggered > 50
    assert trades == reference.trades
    depth = engine.depth(SYM, 1_000)
    assert (depth.bids, depth.asks) == reference.depth()
    waiting = {order_id: cond.stop_price for order_id, cond in engine.cond.by_id.items()}
    assert waiting == reference.untriggered()


@pytest.mark.parametrize("seed", range(8))
def test_engine_trades_and_expires_like_the_reference_when_the_stream_has_icebergs_and_gtd(
    seed: int,
) -> None:
    # given: an engine and a reference, six very rich accounts
    engine = new_engine(spec=streams.LOW_MIN_SPEC)
    for account in range(1, 7):
        engine.apply(deposit(account, BTC, 10**9 * LOT))
        engine.apply(deposit(account, USD, 10**12))
    reference = ReferenceMatcher()
    stream = streams.seeded_orders_with_options(seed, 3_000)
    trades: list[tuple[int, int, int, int]] = []
    expired: list[int] = []
    # when: both see the same stream (icebergs, GTD orders, FOK, Ticks)
    for cmd in stream:
        reference.apply(cmd)
        for ev in engine.apply(cmd):
            if isinstance(ev, TradeExecuted):
                trades.append((ev.maker_order_id, ev.taker_order_id, ev.price, ev.quantity))
            elif isinstance(ev, OrderExpired) and isinstance(cmd, Tick):
                expired.append(ev.order_id)
        if isinstance(cmd, Tick):
            depth = engine.depth(SYM, 1_000)
            assert (depth.bids, depth.asks) == reference.depth()
    # then: the same trades, the same expiries, the same book; and the stream did exercise them
    engine.validate()
    assert trades == reference.trades
    assert expired == reference.expired
    depth = engine.depth(SYM, 1_000)
    assert (depth.bids, depth.asks) == reference.depth()
    assert len(trades) > 500 and len(expired) > 50
    iceberg_ids = {c.order_id for c in stream if isinstance(c, PlaceOrder) and c.iceberg_quantity}
    refills = sum(1 for a, b in itertools.pairwise(trades) if a[0] == b[0] and a[1] == b[1])
    assert refills > 10  # the same taker met the same iceberg again
    assert any(t[0] in iceberg_ids for t in trades)


def test_reference_is_not_trivially_equal_when_priority_is_broken() -> None:
    # a guard for the comparison itself: two makers at one price fill in arrival order
    reference = ReferenceMatcher()
    a = PlaceOrder(
        "1",
        1,
        1,
        1,
        SYM,
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.GTC,
        100,
        5,
        None,
        False,
        StpMode.EXPIRE_TAKER,
        None,
    )
    b = a._replace(order_id=2, account=2)
    taker = PlaceOrder(
        "3",
        1,
        3,
        3,
        SYM,
        Side.BUY,
        OrderType.MARKET,
        TimeInForce.IOC,
        None,
        7,
        None,
        False,
        StpMode.EXPIRE_TAKER,
        None,
    )
    for cmd in (a, b, taker):
        reference.apply(cmd)
    assert reference.trades == [(1, 3, 100, 5), (2, 3, 100, 2)]
