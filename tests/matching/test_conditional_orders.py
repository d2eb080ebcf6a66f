"""Stop and take-profit orders: placement, holds, triggers, cascades and their cap, cancels.

BTC-USD: 1 tick x 1 lot = 1 quote atom, 1 lot = 1,000,000 BTC atoms (see builders). A "last
trade price" is set by a trade between BOB (maker) and CAROL (taker).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from decimal import Decimal

import pytest

from matching import snapshot
from matching.commands import Command, PlaceOrder
from matching.engine import MatchingEngine
from matching.errors import EndReason, RejectReason
from matching.events import (
    CommandRejected,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    TradeExecuted,
)
from matching.types import MarketStatus, OrderType, Side, TimeInForce
from matching.untriggered import MAX_TRIGGERS_PER_COMMAND
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    DAVE,
    LOT,
    SPEC,
    SYM,
    USD,
    amend,
    cancel,
    cancel_all,
    conditional,
    kinds,
    limit,
    market,
    moves,
    new_engine,
    oco,
    only,
    run,
    set_status,
    update_market,
)

BUY, SELL = Side.BUY, Side.SELL
STOP_MARKET = OrderType.STOP_MARKET
STOP_LIMIT = OrderType.STOP_LIMIT
TP_MARKET = OrderType.TAKE_PROFIT_MARKET
TP_LIMIT = OrderType.TAKE_PROFIT_LIMIT

_ids = itertools.count(10_000)


def funded() -> MatchingEngine:
    return new_engine(
        *[(a, BTC, 1_000 * LOT) for a in (ALICE, BOB, CAROL, DAVE)],
        *[(a, USD, 10_000_000) for a in (ALICE, BOB, CAROL, DAVE)],
    )


def trade_at(engine: MatchingEngine, price: int, qty: int = 2) -> list[Event]:
    """BOB rests a sell at ``price``, CAROL takes it: the last trade price becomes ``price``."""
    run(engine, limit(next(_ids), BOB, SELL, price, qty))
    return run(engine, market(next(_ids), CAROL, BUY, qty))


def triggered(events: list[Event]) -> list[int]:
    return [e.order_id for e in only(events, OrderTriggered)]


def test_stop_is_accepted_untriggered_outside_the_book_and_holds_when_placed() -> None:
    # given a market that traded at 100
    engine = funded()
    trade_at(engine, 100)
    depth_before = engine.depth(SYM, 10)
    # when ALICE places a stop-market sell of 3 lots at 95
    events = run(engine, conditional(1, ALICE, SELL, STOP_MARKET, 95, 3, client_order_id="s"))
    # then it is accepted with its stop price, its base is held, and the book is unchanged
    assert kinds(events) == ["OrderAccepted", "BalanceChanged"]
    accepted = only(events, OrderAccepted)[0]
    assert (accepted.stop_price, accepted.type) == (95, STOP_MARKET)
    assert moves(events) == [(ALICE, BTC, -3 * LOT, 3 * LOT, "hold")]
    assert engine.depth(SYM, 10) == depth_before
    view = engine.order(1)
    assert view is not None and view.untriggered and view.stop_price == 95
    assert [v.order_id for v in engine.open_orders(ALICE)] == [1]


@pytest.mark.parametrize(
    ("side", "order_type", "stop"),
    [
        (BUY, STOP_MARKET, 100),  # a buy stop rises to 100: it already is there
        (BUY, STOP_LIMIT, 99),
        (SELL, STOP_MARKET, 100),
        (SELL, STOP_LIMIT, 101),
        (BUY, TP_MARKET, 100),
        (BUY, TP_LIMIT, 101),
        (SELL, TP_MARKET, 100),
        (SELL, TP_LIMIT, 99),
    ],
)
def test_order_is_refused_would_trigger_immediately_when_the_last_price_crossed_its_stop(
    side: Side, order_type: OrderType, stop: int
) -> None:
    engine = funded()
    trade_at(engine, 100)
    price = 100 if order_type in (STOP_LIMIT, TP_LIMIT) else None
    events = run(engine, conditional(1, ALICE, side, order_type, stop, 2, price))
    assert only(events, OrderRejected)[0].reason is RejectReason.WOULD_TRIGGER_IMMEDIATELY
    assert only(events, OrderRejected)[0].stop_price == stop
    assert engine.order(1) is None and 1 not in engine.used_order_ids


def test_any_stop_price_is_accepted_when_the_market_never_traded() -> None:
    engine = funded()
    for order_id, side in ((1, BUY), (2, SELL)):
        events = run(engine, conditional(order_id, ALICE, side, STOP_MARKET, 100, 1))
        assert kinds(events)[0] == "OrderAccepted"


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (conditional(1, ALICE, SELL, STOP_MARKET, 0, 1), RejectReason.INVALID_STOP_PRICE),
        (conditional(1, ALICE, SELL, STOP_MARKET, None, 1), RejectReason.INVALID_ORDER),
        (
            conditional(1, ALICE, BUY, STOP_LIMIT, 110, 1, 111, post_only=True),
            RejectReason.INVALID_ORDER,
        ),
        (conditional(1, ALICE, BUY, STOP_LIMIT, 110, 1), RejectReason.INVALID_ORDER),
        (conditional(1, ALICE, BUY, STOP_MARKET, 110, 1, 111), RejectReason.INVALID_ORDER),
        (conditional(1, ALICE, BUY, STOP_MARKET, 110, 1, quote=500), RejectReason.INVALID_ORDER),
        (conditional(1, ALICE, SELL, TP_MARKET, 90, 1, trailing_delta=100), "invalid_order"),
        (
            conditional(1, ALICE, SELL, STOP_MARKET, 90, 1, trailing_delta=100),
            RejectReason.INVALID_ORDER,
        ),
        (
            conditional(1, ALICE, BUY, STOP_LIMIT, 110, 1, 111, tif=TimeInForce.GTD),
            RejectReason.INVALID_EXPIRE_TIME,  # GTD without its expire_time
        ),
        (
            conditional(1, ALICE, SELL, STOP_MARKET, 90, 4)._replace(iceberg_quantity=2),
            RejectReason.INVALID_ORDER,  # an iceberg is a limit variant's
        ),
        (
            conditional(1, ALICE, SELL, STOP_LIMIT, 90, 4, 89, tif=TimeInForce.IOC)._replace(
                iceberg_quantity=2
            ),
            RejectReason.INVALID_ORDER,  # and rests: GTC or GTD
        ),
        (conditional(1, ALICE, BUY, STOP_LIMIT, 110, 1, 0), RejectReason.INVALID_PRICE),
        (conditional(1, ALICE, SELL, STOP_MARKET, 90, 0), RejectReason.INVALID_QUANTITY),
        (conditional(1, ALICE, BUY, STOP_MARKET, 110, quote=5), RejectReason.BELOW_MIN_NOTIONAL),
        (conditional(1, ALICE, BUY, STOP_LIMIT, 110, 1, 50), RejectReason.BELOW_MIN_NOTIONAL),
        (conditional(1, ALICE, SELL, STOP_MARKET, 90, 2_000 * 100), "insufficient_funds"),
        (conditional(1, ALICE, BUY, STOP_MARKET, 110, 100_000), "insufficient_funds"),
        (limit(1, ALICE, BUY, 90, 1)._replace(stop_price=80), RejectReason.INVALID_ORDER),
        (market(1, ALICE, SELL, 1)._replace(trailing_delta=100), RejectReason.INVALID_ORDER),
    ],
)
def test_conditional_order_is_refused_with_its_reason_when_invalid(cmd, reason) -> None:
    # given a market that traded at 100
    engine = funded()
    trade_at(engine, 100)
    # when / then
    events = run(engine, cmd)
    assert kinds(events) == ["OrderRejected"]
    assert only(events, OrderRejected)[0].reason == reason


def test_stop_market_buy_by_quantity_holds_at_its_protection_price_when_placed() -> None:
    # given a last price of 100
    engine = funded()
    trade_at(engine, 100)
    # when ALICE places a stop-market buy of 5 lots at 105
    events = run(engine, conditional(1, ALICE, BUY, STOP_MARKET, 105, 5))
    # then 5 lots are held at ceil(105 x 1.1) = 116 ticks
    assert moves(events) == [(ALICE, USD, -116 * 5, 116 * 5, "hold")]


def test_stop_market_sell_triggers_and_fills_when_the_price_falls_exactly_to_its_stop() -> None:
    # given ALICE's stop-market sell of 2 lots at 95, bids at 95 (DAVE)
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, 95, 2))
    run(engine, limit(2, DAVE, BUY, 95, 10))
    # when a sell trades at exactly 95
    events = run(engine, market(3, BOB, SELL, 1))
    # then the stop triggers after BOB's order and sells into the bid, as a market order
    assert triggered(events) == [1]
    trigger = only(events, OrderTriggered)[0]
    assert (trigger.type, trigger.trigger_price, trigger.stop_price) == (OrderType.MARKET, 95, 95)
    trades = only(events, TradeExecuted)
    assert [(t.taker_order_id, t.price, t.quantity) for t in trades] == [(3, 95, 1), (1, 95, 2)]
    assert [e.order_id for e in only(events, OrderFilled)] == [3, 1]
    assert engine.order(1) is None
    assert engine.balance(ALICE, BTC) == (998 * LOT, 0)


def test_stop_does_not_trigger_when_the_price_stays_above_it() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, 95, 2))
    events = trade_at(engine, 96)
    assert triggered(events) == []
    view = engine.order(1)
    assert view is not None and view.untriggered


def test_take_profit_limit_sell_triggers_on_a_rise_and_rests_at_its_limit() -> None:
    # given ALICE's take-profit-limit sell of 2 lots, stop 105, limit 107
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, SELL, TP_LIMIT, 105, 2, 107))
    # when a trade happens at 105
    events = trade_at(engine, 105)
    # then it becomes a limit sell at 107, which rests (nothing to buy there)
    assert only(events, OrderTriggered)[0].type is OrderType.LIMIT
    assert engine.depth(SYM, 5).asks == [(107, 2)]
    view = engine.order(1)
    assert view is not None and not view.untriggered and view.price == 107


def test_stop_limit_fok_expires_ioc_unfilled_when_triggered_and_not_fillable() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, BUY, STOP_LIMIT, 102, 5, 103, tif=TimeInForce.FOK))
    run(engine, limit(2, DAVE, SELL, 103, 1))
    events = trade_at(engine, 102)
    expired = only(events, OrderExpired)
    assert [(e.order_id, e.reason) for e in expired] == [(1, EndReason.IOC_UNFILLED)]
    assert engine.balance(ALICE, USD) == (10_000_000, 0)


def test_stop_market_buy_by_quantity_buys_up_to_its_protection_price_when_triggered() -> None:
    # given ALICE's stop-market buy of 5 lots at 100 (protection 110), asks 1 @ 105, 9 @ 120
    engine = funded()
    trade_at(engine, 95)
    run(engine, conditional(1, ALICE, BUY, STOP_MARKET, 100, 5))
    run(engine, limit(2, DAVE, SELL, 105, 1))
    run(engine, limit(3, DAVE, SELL, 120, 9))
    # when a trade happens at 100
    events = trade_at(engine, 100)
    # then it buys the lot at 105, and the rest expires no_liquidity: all its hold is released
    trades = [(t.taker_order_id, t.price, t.quantity) for t in only(events, TradeExecuted)]
    assert trades[-1] == (1, 105, 1)
    assert [(e.order_id, e.reason) for e in only(events, OrderExpired)] == [
        (1, EndReason.NO_LIQUIDITY)
    ]
    assert engine.balance(ALICE, USD)[1] == 0


def test_stop_market_buy_by_quote_spends_its_quote_when_triggered() -> None:
    engine = funded()
    trade_at(engine, 95)
    events = run(engine, conditional(1, ALICE, BUY, STOP_MARKET, 100, quote=1_000))
    assert moves(events) == [(ALICE, USD, -1_000, 1_000, "hold")]
    run(engine, limit(2, DAVE, SELL, 100, 50))
    events = trade_at(engine, 100)
    assert [(t.taker_order_id, t.quantity) for t in only(events, TradeExecuted)][-1] == (1, 10)
    assert engine.balance(ALICE, USD) == (10_000_000 - 1_000, 0)


def test_a_gap_triggers_every_crossed_stop_in_stop_price_then_time_order() -> None:
    # given sell stops at 98, 97 (two, in that acceptance order) and 95, and a stop at 90
    engine = funded()
    trade_at(engine, 100)
    for order_id, stop in ((1, 95), (2, 97), (3, 98), (4, 97), (5, 90)):
        run(engine, conditional(order_id, ALICE, SELL, STOP_LIMIT, stop, 1, 200))
    # when one sell sweeps the bids from 99 down to 94
    for order_id, price in ((20, 99), (21, 96), (22, 94)):
        run(engine, limit(order_id, DAVE, BUY, price, 2))
    events = run(engine, market(30, BOB, SELL, 6))
    # then the stops trigger from the price the market came from: 98, 97 (by time), 95
    assert triggered(events) == [3, 2, 4, 1]
    assert engine.order(5) is not None and engine.order(5).untriggered  # type: ignore[union-attr]


def test_a_triggered_orders_own_fills_trigger_more_orders_when_they_cross() -> None:
    # given stop-market sells at 98 (ALICE, 4 lots) and 96 (CAROL); bids at 98, 97, 95
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, 98, 4))
    run(engine, conditional(2, CAROL, SELL, STOP_MARKET, 96, 1))
    for order_id, price in ((20, 98), (21, 97), (22, 95)):
        run(engine, limit(order_id, DAVE, BUY, price, 2))
    # when BOB sells 2 lots at 98
    events = run(engine, market(30, BOB, SELL, 2))
    # then ALICE's stop triggers and sells at 97 and 95, which triggers CAROL's: no bid left
    assert triggered(events) == [1, 2]
    assert [(t.taker_order_id, t.price) for t in only(events, TradeExecuted)] == [
        (30, 98),
        (1, 97),
        (1, 95),
    ]
    assert [(e.order_id, e.reason) for e in only(events, OrderExpired)] == [
        (2, EndReason.NO_LIQUIDITY)
    ]


def test_a_cascade_stops_at_the_cap_and_the_next_command_of_the_market_triggers_the_rest() -> None:
    # given more sell stops at 99 than one command may trigger, and bids for all of them
    engine = funded()
    trade_at(engine, 100)
    count = MAX_TRIGGERS_PER_COMMAND + 2
    for order_id in range(1, count + 1):
        run(engine, conditional(order_id, ALICE, SELL, STOP_MARKET, 99, 1))
    run(engine, limit(500, DAVE, BUY, 99, count + 1))
    # when a trade happens at 99
    events = run(engine, market(501, BOB, SELL, 1))
    # then exactly the cap triggers, in acceptance order; the rest still waits (validate
    # accepts it: the market is in the backlog)
    assert triggered(events) == list(range(1, MAX_TRIGGERS_PER_COMMAND + 1))
    assert engine.order(count) is not None
    # when any command addresses the market (here a refused cancel)
    events = run(engine, cancel(BOB, 999_999))
    # then the rest triggers first, then the command is answered
    assert triggered(events) == [count - 1, count]
    assert isinstance(events[-1], CommandRejected)
    assert engine.cond.backlog == {}


def test_cancel_of_an_untriggered_order_releases_its_hold_when_by_id_or_client_id() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, BUY, STOP_LIMIT, 110, 2, 111))
    run(engine, conditional(2, ALICE, SELL, STOP_MARKET, 90, 2, client_order_id="x"))
    events = run(engine, cancel(ALICE, 1))
    assert [(e.order_id, e.reason) for e in only(events, OrderCancelled)] == [
        (1, EndReason.USER_CANCELLED)
    ]
    assert moves(events) == [(ALICE, USD, 222, -222, "release")]
    assert "BookChanged" not in kinds(events)
    events = run(engine, cancel(ALICE, client_order_id="x"))
    assert moves(events) == [(ALICE, BTC, 2 * LOT, -2 * LOT, "release")]
    assert engine.open_orders(ALICE) == []
    # another account cannot cancel it
    run(engine, conditional(3, ALICE, SELL, STOP_MARKET, 90, 2))
    assert only(run(engine, cancel(BOB, 3)), CommandRejected)[0].reason.value == "order_not_found"


def test_cancel_all_cancels_untriggered_orders_too() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, limit(1, ALICE, BUY, 90, 2))
    run(engine, conditional(2, ALICE, SELL, STOP_MARKET, 90, 2))
    events = run(engine, cancel_all(ALICE, SYM))
    assert [(e.order_id, e.reason) for e in only(events, OrderCancelled)] == [
        (1, EndReason.CANCEL_ALL),
        (2, EndReason.CANCEL_ALL),
    ]
    assert engine.balance(ALICE, BTC) == (1_000 * LOT, 0)
    assert engine.balance(ALICE, USD) == (10_000_000, 0)


def test_amend_of_an_untriggered_order_is_refused_order_not_amendable() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, BUY, STOP_LIMIT, 110, 2, 111))
    events = run(engine, amend(ALICE, 1, qty=1))
    assert only(events, CommandRejected)[0].reason is RejectReason.ORDER_NOT_AMENDABLE


def test_triggered_order_ids_stay_used_when_it_ended() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, ALICE, SELL, STOP_MARKET, 99, 1))
    trade_at(engine, 99)
    events = run(engine, limit(1, ALICE, BUY, 50, 1))
    assert only(events, OrderRejected)[0].reason is RejectReason.DUPLICATE_ORDER_ID


def test_restore_and_replay_gives_the_same_events_when_a_capped_cascade_waits() -> None:
    # given a capped cascade (the backlog waits), trailing stops and an OCO, snapshotted
    engine = funded()
    trade_at(engine, 100)
    run(engine, conditional(1, DAVE, SELL, STOP_MARKET, None, 1, trailing_delta=300))
    run(engine, conditional(2, DAVE, BUY, STOP_LIMIT, None, 1, 150, trailing_delta=300))
    run(engine, oco(3, DAVE, SELL, 1, 130, 80))
    count = MAX_TRIGGERS_PER_COMMAND + 3
    for order_id in range(100, 100 + count):
        run(engine, conditional(order_id, ALICE, SELL, STOP_MARKET, 99, 1))
    run(engine, limit(500, BOB, BUY, 99, count + 1))
    run(engine, market(501, CAROL, SELL, 1))
    assert engine.cond.backlog
    restored = snapshot.load(json.loads(json.dumps(snapshot.dump(engine))))
    assert restored.state_hash() == engine.state_hash()
    restored.validate()
    # when both see the same commands
    rest: list[Command] = [
        cancel(BOB, 999_999),
        market(502, CAROL, SELL, 5),
        *trade_at_commands(100),
    ]
    for cmd in rest:
        # then the same events, the same state
        assert restored.apply(cmd) == engine.apply(cmd)
        engine.validate()
    assert restored.state_hash() == engine.state_hash()


def trade_at_commands(price: int) -> list[PlaceOrder]:
    return [limit(next(_ids), BOB, SELL, price, 2), market(next(_ids), CAROL, BUY, 2)]


def test_the_tick_cannot_change_when_only_untriggered_orders_are_left() -> None:
    # given an empty book but an untriggered order (its prices are in ticks)
    engine = funded()
    run(engine, conditional(1, ALICE, SELL, STOP_LIMIT, 90, 2, 89))
    # when the operator changes the tick
    events = run(engine, update_market(replace(SPEC, tick_size=Decimal("2"))))
    # then it is refused, as with resting orders
    assert only(events, CommandRejected)[0].reason is RejectReason.MARKET_NOT_EMPTY


def test_the_cap_counts_the_backlog_and_the_commands_own_triggers_together() -> None:
    # given a capped cascade that left 3 crossed stops at 99, and 100 more stops at 97
    engine = funded()
    trade_at(engine, 100)
    first = MAX_TRIGGERS_PER_COMMAND + 3
    for order_id in range(1, first + 1):
        run(engine, conditional(order_id, ALICE, SELL, STOP_MARKET, 99, 1))
    for order_id in range(1_001, 1_001 + MAX_TRIGGERS_PER_COMMAND):
        run(engine, conditional(order_id, DAVE, SELL, STOP_MARKET, 97, 1))
    run(engine, limit(500, BOB, BUY, 99, MAX_TRIGGERS_PER_COMMAND + 1))
    run(engine, limit(502, BOB, BUY, 97, 2 * MAX_TRIGGERS_PER_COMMAND))
    run(engine, market(501, CAROL, SELL, 1))
    assert len(engine.cond.by_id) == 3 + MAX_TRIGGERS_PER_COMMAND
    # when the next command comes: the 3 trigger, sell at 97 and cross the stops at 97
    events = run(engine, market(503, CAROL, SELL, 1))
    # then 100 trigger in the command in all: the backlog's 3 and 97 of the others; 3 wait
    assert triggered(events)[:4] == [first - 2, first - 1, first, 1_001]
    assert len(triggered(events)) == MAX_TRIGGERS_PER_COMMAND
    assert len(engine.cond.by_id) == 3 and engine.cond.backlog


def test_a_halt_is_a_command_of_the_market_so_the_backlog_triggers_before_it() -> None:
    # given a capped cascade whose rest waits
    engine = funded()
    trade_at(engine, 100)
    count = MAX_TRIGGERS_PER_COMMAND + 1
    for order_id in range(1, count + 1):
        run(engine, conditional(order_id, ALICE, SELL, STOP_MARKET, 99, 1))
    run(engine, limit(500, DAVE, BUY, 99, count + 1))
    run(engine, market(501, BOB, SELL, 1))
    # when the market is halted
    events = run(engine, set_status(MarketStatus.HALTED))
    # then the rest triggers (and trades) first, then the market halts
    assert triggered(events) == [count]
    assert kinds(events)[-1] == "MarketStatusChanged"
    assert engine.cond.backlog == {}
