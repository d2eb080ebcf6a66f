"""Iceberg orders: the book shows the visible slice; a refill goes to the back of its level."""

from __future__ import annotations

import json
from typing import Any

import pytest

from matching import snapshot
from matching.commands import PlaceOrder
from matching.engine import MatchingEngine
from matching.errors import EndReason, RejectReason
from matching.events import (
    BookChanged,
    CommandRejected,
    Event,
    OrderAccepted,
    OrderAmended,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    TradeExecuted,
)
from matching.iceberg import MAX_ICEBERG_PARTS
from matching.types import OrderType, Side, StpMode, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SYM,
    USD,
    amend,
    book_changes,
    cancel,
    kinds,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK, GTD = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD
R = RejectReason


def _engine() -> MatchingEngine:
    """Alice and Carol sell (100 lots BTC each), Bob buys (100,000.00 USD)."""
    return new_engine(
        (ALICE, BTC, 100 * LOT),
        (ALICE, USD, 10_000_000),
        (BOB, USD, 10_000_000),
        (CAROL, BTC, 100 * LOT),
    )


def _trades(events: list[Event]) -> list[tuple[int, int]]:
    return [(t.maker_order_id, t.quantity) for t in only(events, TradeExecuted)]


def test_depth_shows_only_the_visible_slice_when_an_iceberg_rests() -> None:
    # given an engine
    engine = _engine()
    # when Alice rests an iceberg sell of 10 lots showing 3
    events = run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    # then the book and its change show 3 lots, the hold and the order view all 10
    assert only(events, OrderAccepted)[0].iceberg_quantity == 3
    assert book_changes(events) == [((), ((100, 3),))]
    assert engine.depth(SYM, 5).asks == [(100, 3)]
    assert moves(events) == [(ALICE, BTC, -10 * LOT, 10 * LOT, "hold")]
    view = engine.order(1)
    assert view is not None
    assert (view.remaining, view.iceberg_quantity) == (10, 3)


def test_level_counts_visible_slices_and_whole_orders_when_both_rest() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    assert engine.depth(SYM, 5).asks == [(100, 5)]


def test_refill_goes_to_the_back_of_the_level_when_its_slice_is_filled() -> None:
    # given Alice's iceberg (10, showing 3) and then Carol's 2 lots at the same price
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    # when Bob takes exactly the visible slice
    first = run(engine, limit(3, BOB, BUY, 100, 3, IOC))
    # then the iceberg refilled (depth unchanged: 3 + 2) behind Carol, who trades next
    assert _trades(first) == [(1, 3)]
    assert book_changes(first) == []  # the level shows 5 lots before and after
    assert engine.depth(SYM, 5).asks == [(100, 5)]
    second = run(engine, limit(4, BOB, BUY, 100, 2, IOC))
    assert _trades(second) == [(2, 2)]
    third = run(engine, limit(5, BOB, BUY, 100, 1, IOC))
    assert _trades(third) == [(1, 1)]


def test_same_taker_reaches_the_refill_when_it_wants_more_than_the_level_shows() -> None:
    # given the iceberg (10, showing 3) ahead of Carol's 2 lots
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    # when Bob buys 8
    events = run(engine, limit(3, BOB, BUY, 100, 8))
    # then slice, Carol, the refill; the level shows the iceberg's next slice only
    assert _trades(events) == [(1, 3), (2, 2), (1, 3)]
    assert book_changes(events) == [((), ((100, 3),))]
    view = engine.order(1)
    assert view is not None and view.remaining == 4


def test_same_taker_takes_every_slice_when_nothing_else_is_at_that_price() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    events = run(engine, limit(2, BOB, BUY, 101, 12))
    assert _trades(events) == [(1, 3), (1, 3), (1, 3), (1, 1)]
    assert [e.order_id for e in only(events, OrderFilled)] == [1]
    assert book_changes(events) == [(((101, 2),), ((100, 0),))]
    assert engine.order(1) is None


def test_iceberg_taker_trades_its_whole_quantity_and_rests_a_slice() -> None:
    # given Carol's 5 lots at 100
    engine = _engine()
    run(engine, limit(1, CAROL, SELL, 100, 5))
    # when Bob's iceberg buy of 12 showing 4 arrives
    events = run(engine, limit(2, BOB, BUY, 100, 12, iceberg=4))
    # then it takes all 5, and rests 7 of which the book shows 4
    assert _trades(events) == [(1, 5)]
    assert engine.depth(SYM, 5).bids == [(100, 4)]
    assert book_changes(events)[-1] == (((100, 4),), ((100, 0),))
    view = engine.order(2)
    assert view is not None and view.remaining == 7


def test_fok_fills_through_hidden_quantity_when_only_icebergs_rest() -> None:
    # given an iceberg of 10 showing 3: the book shows 3
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    # when Bob sends a FOK for 8
    events = run(engine, limit(2, BOB, BUY, 100, 8, FOK))
    # then it fills through the refills
    assert _trades(events) == [(1, 3), (1, 3), (1, 2)]
    assert only(events, OrderFilled)[0].order_id == 2


def test_fok_is_refused_when_it_wants_more_than_the_iceberg_hides() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    events = run(engine, limit(2, BOB, BUY, 100, 11, FOK))
    assert only(events, OrderRejected)[0].reason is R.FOK_NOT_FILLABLE


def test_fok_is_refused_when_an_own_order_stands_before_the_refill() -> None:
    # given Bob's iceberg (10, showing 3) and then Alice's own ask, both at 100
    engine = _engine()
    run(engine, limit(1, BOB, SELL, 100, 10, iceberg=3)._replace(account=CAROL))
    run(engine, limit(2, ALICE, SELL, 100, 2))
    # when Alice sends a FOK buy for 5 that stops at its own order (expire_taker)
    events = run(engine, limit(3, ALICE, BUY, 100, 5, FOK))
    # then it is refused: matching would give 3, then meet her ask before the refill
    assert only(events, OrderRejected)[0].reason is R.FOK_NOT_FILLABLE
    # and with expire_maker her ask goes and the refill is reached
    taken = run(engine, limit(4, ALICE, BUY, 100, 5, FOK, stp=StpMode.EXPIRE_MAKER))
    assert _trades(taken) == [(1, 3), (1, 2)]
    assert [e.order_id for e in only(taken, OrderExpired)] == [2]


def test_reducing_an_iceberg_keeps_its_place_and_trims_its_slice_when_amended() -> None:
    # given the iceberg (10, showing 4) ahead of Carol's 2 lots
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=4))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    # when Alice reduces it to 2 lots
    events = run(engine, amend(ALICE, 1, qty=2))
    # then it keeps its place, shows 2, and released 8 lots
    assert only(events, OrderAmended)[0].kept_priority is True
    assert moves(events) == [(ALICE, BTC, 8 * LOT, -8 * LOT, "release")]
    assert engine.depth(SYM, 5).asks == [(100, 4)]
    assert _trades(run(engine, limit(3, BOB, BUY, 100, 1, IOC))) == [(1, 1)]


def test_reducing_only_the_hidden_part_keeps_the_slice_when_amended() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=4))
    run(engine, amend(ALICE, 1, qty=6))
    assert engine.depth(SYM, 5).asks == [(100, 4)]
    view = engine.order(1)
    assert view is not None and view.remaining == 6


def test_increasing_an_iceberg_requeues_it_with_a_fresh_slice_when_amended() -> None:
    # given the iceberg (10, showing 4) partly used (1 lot), then Carol's 2 lots
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=4))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    run(engine, limit(3, BOB, BUY, 100, 1, IOC))
    assert engine.depth(SYM, 5).asks == [(100, 5)]
    # when Alice raises it to 12
    events = run(engine, amend(ALICE, 1, qty=12))
    # then it lost its place and shows a fresh slice of 4
    assert only(events, OrderAmended)[0].kept_priority is False
    assert engine.depth(SYM, 5).asks == [(100, 6)]
    assert _trades(run(engine, limit(4, BOB, BUY, 100, 3, IOC))) == [(2, 2), (1, 1)]


def test_amend_is_refused_when_it_gives_an_iceberg_too_many_parts() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=1))
    events = run(engine, amend(ALICE, 1, qty=MAX_ICEBERG_PARTS + 1))
    assert only(events, CommandRejected)[0].reason is R.INVALID_QUANTITY
    assert kinds(run(engine, amend(ALICE, 1, qty=MAX_ICEBERG_PARTS)))[0] == "OrderAmended"


def test_cancel_releases_the_whole_remaining_hold_when_an_iceberg_is_cancelled() -> None:
    # given an iceberg of 10 showing 3 with 3 lots filled
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    run(engine, limit(2, BOB, BUY, 100, 3))
    # when Alice cancels it
    events = run(engine, cancel(ALICE, 1))
    # then 7 lots come back, and the level (showing 3) is gone
    assert moves(events) == [(ALICE, BTC, 7 * LOT, -7 * LOT, "release")]
    assert book_changes(events) == [((), ((100, 0),))]
    assert engine.balance(ALICE, BTC) == (97 * LOT, 0)


def test_self_trade_prevention_expires_the_whole_iceberg_when_it_is_the_maker() -> None:
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=3))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    events = run(engine, limit(3, ALICE, BUY, 100, 4, stp=StpMode.EXPIRE_MAKER))
    expired = only(events, OrderExpired)
    assert [(e.order_id, e.reason) for e in expired] == [(1, EndReason.SELF_TRADE_PREVENTION)]
    assert _trades(events) == [(2, 2)]
    assert engine.balance(ALICE, BTC)[1] == 0  # the whole iceberg's hold came back
    assert engine.depth(SYM, 5).bids == [(100, 2)]


def test_snapshot_restores_a_partly_used_slice_when_round_tripped() -> None:
    # given an iceberg whose slice is half used, behind nothing
    engine = _engine()
    run(engine, limit(1, ALICE, SELL, 100, 10, iceberg=4))
    run(engine, limit(2, CAROL, SELL, 100, 2))
    run(engine, limit(3, BOB, BUY, 100, 2, IOC))
    # when it is dumped and loaded
    restored = snapshot.load(json.loads(json.dumps(snapshot.dump(engine))))
    restored.validate()
    # then the same state and the same next trades
    assert restored.state_hash() == engine.state_hash()
    assert restored.depth(SYM, 5) == engine.depth(SYM, 5)
    taker = limit(4, BOB, BUY, 100, 9)
    assert restored.apply(taker) == engine.apply(taker)


def _place(**fields: Any) -> PlaceOrder:
    return limit(9, ALICE, SELL, 100, 10, iceberg=3)._replace(**fields)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (_place(iceberg_quantity=10), R.INVALID_QUANTITY),  # not below the quantity
        (_place(iceberg_quantity=11), R.INVALID_QUANTITY),
        (_place(iceberg_quantity=0), R.INVALID_QUANTITY),
        (_place(iceberg_quantity=-1), R.INVALID_QUANTITY),
        (_place(quantity=MAX_ICEBERG_PARTS + 1, iceberg_quantity=1), R.INVALID_QUANTITY),
        (_place(time_in_force=IOC), R.INVALID_ORDER),
        (_place(time_in_force=FOK), R.INVALID_ORDER),
        (
            market(9, ALICE, SELL, 10)._replace(iceberg_quantity=3),
            R.INVALID_ORDER,
        ),
        (_place(type=OrderType.MARKET, price=None), R.INVALID_ORDER),
        (_place(price=0), R.INVALID_PRICE),  # the ordinary checks come first
    ],
)
def test_iceberg_is_refused_when_its_fields_are_wrong(
    command: PlaceOrder, reason: RejectReason
) -> None:
    engine = _engine()
    before = engine.state_hash()
    events = run(engine, command)
    assert kinds(events) == ["OrderRejected"]
    assert only(events, OrderRejected)[0].reason is reason
    assert only(events, OrderRejected)[0].iceberg_quantity == command.iceberg_quantity
    engine.seq -= 1
    assert engine.state_hash() == before


@pytest.mark.parametrize(
    "command",
    [
        _place(quantity=MAX_ICEBERG_PARTS, iceberg_quantity=1),  # exactly the bound
        _place(post_only=True),
        _place(time_in_force=GTD, expire_time=10),
        _place(iceberg_quantity=9),
    ],
)
def test_iceberg_is_accepted_when_its_fields_are_right(command: PlaceOrder) -> None:
    engine = _engine()
    events = run(engine, command)
    assert kinds(events) == ["OrderAccepted", "BalanceChanged", "BookChanged"]
    assert only(events, BookChanged)[0].asks == ((100, command.iceberg_quantity),)


def test_usd_hold_covers_the_whole_iceberg_when_it_is_a_buy() -> None:
    engine = _engine()
    events = run(engine, limit(1, BOB, BUY, 100, 10, iceberg=2))
    assert moves(events) == [(BOB, USD, -1_000, 1_000, "hold")]
    assert engine.depth(SYM, 5).bids == [(100, 2)]
