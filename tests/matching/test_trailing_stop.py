"""Trailing stops (``trailing_delta`` in basis points on stop_market / stop_limit)."""

from __future__ import annotations

import itertools

import pytest

from matching.engine import MatchingEngine
from matching.errors import RejectReason
from matching.events import Event, OrderAccepted, OrderRejected, OrderTriggered, TradeExecuted
from matching.types import OrderType, Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    DAVE,
    LOT,
    USD,
    conditional,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
)

BUY, SELL = Side.BUY, Side.SELL
STOP_MARKET = OrderType.STOP_MARKET
STOP_LIMIT = OrderType.STOP_LIMIT
_ids = itertools.count(10_000)


def funded() -> MatchingEngine:
    return new_engine(
        *[(a, BTC, 1_000 * LOT) for a in (ALICE, BOB, CAROL, DAVE)],
        *[(a, USD, 10_000_000) for a in (ALICE, BOB, CAROL, DAVE)],
    )


def trade_at(engine: MatchingEngine, price: int, qty: int = 2) -> list[Event]:
    run(engine, limit(next(_ids), BOB, SELL, price, qty))
    return run(engine, market(next(_ids), CAROL, BUY, qty))


def sell_trade_at(engine: MatchingEngine, price: int, qty: int = 2) -> list[Event]:
    run(engine, limit(next(_ids), CAROL, BUY, price, qty))
    return run(engine, market(next(_ids), BOB, SELL, qty))


def stop_of(engine: MatchingEngine, order_id: int) -> int | None:
    view = engine.order(order_id)
    assert view is not None and view.untriggered
    return view.stop_price


def test_a_trailing_stop_is_refused_no_reference_price_when_the_market_never_traded() -> None:
    engine = funded()
    events = run(engine, conditional(1, ALICE, SELL, STOP_MARKET, None, 1, trailing_delta=100))
    assert only(events, OrderRejected)[0].reason is RejectReason.NO_REFERENCE_PRICE


@pytest.mark.parametrize("delta", [9, 2001, 0, -5])
def test_a_trailing_delta_outside_10_to_2000_bps_is_refused_invalid_order(delta: int) -> None:
    engine = funded()
    trade_at(engine, 1000)
    events = run(engine, conditional(1, ALICE, SELL, STOP_MARKET, None, 1, trailing_delta=delta))
    assert only(events, OrderRejected)[0].reason is RejectReason.INVALID_ORDER


def test_a_trailing_sell_follows_the_peak_and_triggers_when_the_price_falls_by_the_delta() -> None:
    # given a last price of 1000 and ALICE's trailing stop-market sell, delta 5 %
    engine = funded()
    trade_at(engine, 1000)
    events = run(engine, conditional(1, ALICE, SELL, STOP_MARKET, None, 2, trailing_delta=500))
    # then it starts at floor(1000 x 0.95) = 950
    assert only(events, OrderAccepted)[0].stop_price == 950
    # when the price rises to 1100 (peak), then falls to 1050: the stop follows the peak only
    trade_at(engine, 1100)
    assert stop_of(engine, 1) == 1045
    sell_trade_at(engine, 1050)
    assert stop_of(engine, 1) == 1045
    # when a sell trades at 1045, the stop triggers and sells into the bids
    run(engine, limit(50, DAVE, BUY, 1040, 5))
    events = sell_trade_at(engine, 1045)
    trigger = only(events, OrderTriggered)[0]
    assert (trigger.order_id, trigger.stop_price, trigger.trigger_price) == (1, 1045, 1045)
    assert [t.price for t in only(events, TradeExecuted) if t.taker_order_id == 1] == [1040]


def test_a_trailing_sell_takes_the_highest_trade_of_a_sweep_as_its_peak() -> None:
    # given a trailing sell (2 %) from 1000 and bids at 1100 (above the last price) and 990
    engine = funded()
    trade_at(engine, 1000)
    run(engine, conditional(1, ALICE, SELL, STOP_LIMIT, None, 2, 500, trailing_delta=200))
    run(engine, limit(50, DAVE, BUY, 1100, 1))
    run(engine, limit(51, DAVE, BUY, 990, 1))
    # when one sell sweeps both: trades at 1100 then 990
    events = run(engine, market(52, BOB, SELL, 2))
    # then its peak was 1100, stop floor(1100 x 0.98) = 1078, crossed by 990: it triggers
    assert [(e.stop_price, e.trigger_price) for e in only(events, OrderTriggered)] == [(1078, 990)]


def test_a_trailing_buy_follows_the_trough_and_holds_at_its_first_protection_price() -> None:
    # given a last price of 1000 and ALICE's trailing stop-market buy of 2 lots, delta 1 %
    engine = funded()
    trade_at(engine, 1000)
    events = run(engine, conditional(1, ALICE, BUY, STOP_MARKET, None, 2, trailing_delta=100))
    # then its stop is ceil(1000 x 1.01) = 1010, and it holds at ceil(1010 x 1.1) = 1111
    assert only(events, OrderAccepted)[0].stop_price == 1010
    assert moves(events) == [(ALICE, USD, -2222, 2222, "hold")]
    # when the price falls to 900, the stop follows: ceil(909) = 909
    sell_trade_at(engine, 900)
    assert stop_of(engine, 1) == 909
    # and a rise back to 908 does not move it nor trigger it
    trade_at(engine, 908)
    assert stop_of(engine, 1) == 909
    # when a buy trades at 909, it triggers and buys
    run(engine, limit(60, DAVE, SELL, 950, 5))
    events = trade_at(engine, 909)
    assert [e.order_id for e in only(events, OrderTriggered)] == [1]
    assert [
        (t.price, t.quantity) for t in only(events, TradeExecuted) if t.taker_order_id == 1
    ] == [(950, 2)]
    assert engine.balance(ALICE, USD)[1] == 0


def test_trailing_sells_from_two_peaks_move_as_one_once_a_high_passes_both_each_by_its_delta() -> (
    None
):
    # given ALICE's trailing sell (5 %) from a peak of 1000, and, after a fall to 990, DAVE's
    # (2 %) from 990: two extremes (stops 950 and floor(990 x 0.98) = 970)
    engine = funded()
    trade_at(engine, 1000)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, None, 2, trailing_delta=500))
    sell_trade_at(engine, 990)
    run(engine, conditional(2, DAVE, SELL, STOP_MARKET, None, 2, trailing_delta=200))
    assert (stop_of(engine, 1), stop_of(engine, 2)) == (950, 970)
    # when the price trades at 1000 again, then at 1100
    trade_at(engine, 1000)
    assert (stop_of(engine, 1), stop_of(engine, 2)) == (950, 980)
    trade_at(engine, 1100)
    # then both follow the same peak, each at its own distance: 1045 and 1078
    assert (stop_of(engine, 1), stop_of(engine, 2)) == (1045, 1078)
    # when a sell trades at 1078, only DAVE's triggers (and sells at 1060); at 1045, ALICE's
    run(engine, limit(60, CAROL, BUY, 1060, 2))
    run(engine, limit(61, CAROL, BUY, 1000, 10))
    events = sell_trade_at(engine, 1078)
    assert [(e.order_id, e.stop_price) for e in only(events, OrderTriggered)] == [(2, 1078)]
    assert stop_of(engine, 1) == 1045
    events = sell_trade_at(engine, 1045)
    assert [(e.order_id, e.stop_price) for e in only(events, OrderTriggered)] == [(1, 1045)]


def test_a_trailing_stop_that_reaches_the_stop_of_a_later_order_triggers_before_it() -> None:
    # given ALICE's trailing sell (5 %) whose peak rose to 1100 (stop 1045), then DAVE's plain
    # stop-market sell at 1045, accepted after it
    engine = funded()
    trade_at(engine, 1000)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, None, 2, trailing_delta=500))
    trade_at(engine, 1100)
    run(engine, conditional(2, DAVE, SELL, STOP_MARKET, 1045, 2))
    run(engine, limit(60, CAROL, BUY, 1000, 10))
    # when a sell trades at 1045
    events = sell_trade_at(engine, 1045)
    # then both trigger, at the same stop price in the order they were accepted
    assert [(e.order_id, e.stop_price) for e in only(events, OrderTriggered)] == [
        (1, 1045),
        (2, 1045),
    ]
