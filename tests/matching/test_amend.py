"""AmendOrder: reduce keeps priority; price change or increase re-queues; holds adjust exactly."""

from __future__ import annotations

from matching.engine import MatchingEngine
from matching.errors import RejectReason
from matching.events import (
    BalanceChanged,
    BookChanged,
    CommandRejected,
    OrderAmended,
    TradeExecuted,
)
from matching.types import MarketStatus, Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SYM,
    USD,
    amend,
    kinds,
    limit,
    moves,
    new_engine,
    only,
    run,
    set_status,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL


def _two_asks() -> MatchingEngine:
    """Bob asks 5 at 100, then Carol asks 5 at 100; Alice has cash."""
    engine = new_engine((ALICE, USD, 10_000), (BOB, BTC, 10 * LOT), (CAROL, BTC, 5 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 5))
    run(engine, limit(2, CAROL, SELL, 100, 5))
    return engine


def test_reducing_quantity_keeps_time_priority_and_releases_when_amended_down() -> None:
    engine = _two_asks()
    events = run(engine, amend(BOB, 1, qty=3))
    assert kinds(events) == ["OrderAmended", "BalanceChanged", "BookChanged"]
    assert only(events, OrderAmended)[0].kept_priority is True
    (move,) = moves(events)
    assert move == (BOB, BTC, 2 * LOT, -2 * LOT, "release")
    assert engine.depth(SYM, 5).asks == [(100, 8)]
    trades = only(run(engine, limit(3, ALICE, BUY, 100, 3)), TradeExecuted)
    assert [t.maker_order_id for t in trades] == [1]


def test_increasing_quantity_loses_priority_and_holds_more_when_amended_up() -> None:
    engine = _two_asks()
    events = run(engine, amend(BOB, 1, qty=7))
    assert only(events, OrderAmended)[0].kept_priority is False
    assert moves(events) == [(BOB, BTC, -2 * LOT, 2 * LOT, "hold")]
    trades = only(run(engine, limit(3, ALICE, BUY, 100, 3)), TradeExecuted)
    assert [t.maker_order_id for t in trades] == [2]


def test_price_change_moves_the_order_to_the_back_of_its_new_level_when_amended() -> None:
    # given: Alice bids 98 x 2, Carol bids 99 x 2
    engine = new_engine((ALICE, USD, 10_000), (CAROL, USD, 10_000), (BOB, BTC, 5 * LOT))
    run(engine, limit(1, ALICE, BUY, 98, 2))
    run(engine, limit(2, CAROL, BUY, 99, 2))
    # when: Alice raises to 99
    events = run(engine, amend(ALICE, 1, price=99))
    # then: hold +2 (2 lots x 1 tick); both levels reported; Carol keeps the front
    assert moves(events) == [(ALICE, USD, -2, 2, "hold")]
    assert only(events, BookChanged)[0].bids == ((99, 4), (98, 0))
    trades = only(run(engine, limit(3, BOB, SELL, 99, 3)), TradeExecuted)
    assert [(t.maker_order_id, t.quantity) for t in trades] == [(2, 2), (1, 1)]


def test_lowering_a_bid_releases_the_difference_when_amended() -> None:
    engine = new_engine((ALICE, USD, 10_000))
    run(engine, limit(1, ALICE, BUY, 100, 4))
    events = run(engine, amend(ALICE, 1, price=95, qty=3))
    assert moves(events) == [(ALICE, USD, 400 - 285, -(400 - 285), "release")]
    assert engine.balance(ALICE, USD) == (10_000 - 285, 285)


def test_amend_is_refused_when_new_price_would_cross() -> None:
    engine = _two_asks()
    run(engine, limit(3, ALICE, BUY, 99, 2))
    events = run(engine, amend(ALICE, 3, price=100))
    assert only(events, CommandRejected)[0].reason is RejectReason.POST_ONLY_WOULD_TAKE
    assert engine.depth(SYM, 5).bids == [(99, 2)]


def test_amend_is_refused_when_quantity_would_not_exceed_what_is_filled() -> None:
    engine = _two_asks()
    run(engine, limit(3, ALICE, BUY, 100, 2))  # Bob's order now has 2 filled
    for qty in (2, 1, 0):
        events = run(engine, amend(BOB, 1, qty=qty))
        assert only(events, CommandRejected)[0].reason is RejectReason.INVALID_QUANTITY
    events = run(engine, amend(BOB, 1, qty=3))
    view = engine.order(1)
    assert kinds(events)[0] == "OrderAmended" and view is not None and view.remaining == 1


def test_amend_reports_order_not_found_when_order_is_someone_elses() -> None:
    engine = _two_asks()
    events = run(engine, amend(ALICE, 1, qty=3))
    assert only(events, CommandRejected)[0].reason is RejectReason.ORDER_NOT_FOUND


def test_amend_is_refused_when_increase_exceeds_available_funds() -> None:
    engine = _two_asks()  # Carol has exactly 5 lots, all held
    events = run(engine, amend(CAROL, 2, qty=6))
    assert only(events, CommandRejected)[0].reason is RejectReason.INSUFFICIENT_FUNDS
    assert engine.balance(CAROL, BTC) == (0, 5 * LOT)


def test_amend_is_refused_when_market_is_halted_or_input_is_invalid() -> None:
    engine = _two_asks()
    cases = [
        (amend(BOB, 1), RejectReason.INVALID_ORDER),
        (amend(BOB, 1, price=0), RejectReason.INVALID_PRICE),
        (amend(BOB, 1, qty=2**62 + 1), RejectReason.INVALID_QUANTITY),
        (amend(BOB, 1, price=1, qty=5), RejectReason.BELOW_MIN_NOTIONAL),
        (amend(BOB, 1, price=150, qty=0), RejectReason.INVALID_QUANTITY),
    ]
    for cmd, reason in cases:
        assert only(run(engine, cmd), CommandRejected)[0].reason is reason
    run(engine, set_status(MarketStatus.HALTED))
    assert only(run(engine, amend(BOB, 1, qty=3)), CommandRejected)[0].reason is (
        RejectReason.MARKET_HALTED
    )


def test_amend_below_min_notional_is_refused_when_value_gets_too_small() -> None:
    engine = _two_asks()
    events = run(engine, amend(BOB, 1, price=101, qty=1))
    assert kinds(events) == ["OrderAmended", "BalanceChanged", "BookChanged"]
    events = run(engine, amend(BOB, 1, price=99))  # 99 x 1 = 0.99 < 1.00
    assert only(events, CommandRejected)[0].reason is RejectReason.BELOW_MIN_NOTIONAL


def test_amend_ledger_causes_are_unique_when_same_order_is_amended_repeatedly() -> None:
    engine = _two_asks()
    causes = []
    for qty in (6, 4, 6, 4):
        causes += [e.cause for e in only(run(engine, amend(BOB, 1, qty=qty)), BalanceChanged)]
    assert len(causes) == len(set(causes)) == 4
