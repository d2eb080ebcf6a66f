"""MARKET orders: sell by base, buy by base (never overspends), buy by quote (budget)."""

from __future__ import annotations

from matching.errors import EndReason, RejectReason
from matching.events import OrderExpired, OrderFilled, OrderRejected, TradeExecuted
from matching.types import Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SYM,
    USD,
    kinds,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
)

BUY, SELL = Side.BUY, Side.SELL


def test_market_sell_sweeps_bids_and_expires_rest_when_book_runs_out() -> None:
    # given: bids 101 x 1 and 100 x 2; Bob holds 5 lots
    engine = new_engine((ALICE, USD, 10_000), (BOB, BTC, 5 * LOT))
    run(engine, limit(1, ALICE, BUY, 101, 1))
    run(engine, limit(2, ALICE, BUY, 100, 2))
    # when: Bob market-sells 5
    events = run(engine, market(3, BOB, SELL, qty=5))
    # then: 3 fill, 2 expire no_liquidity and their base is released
    assert [(t.price, t.quantity) for t in only(events, TradeExecuted)] == [(101, 1), (100, 2)]
    (expired,) = only(events, OrderExpired)
    assert (expired.reason, expired.filled_quantity, expired.filled_quote) == (
        EndReason.NO_LIQUIDITY, 3, 301,
    )  # fmt: skip
    assert moves(events)[0] == (BOB, BTC, -5 * LOT, 5 * LOT, "hold")
    assert moves(events)[-1] == (BOB, BTC, 2 * LOT, -2 * LOT, "release")
    assert engine.balance(BOB, BTC) == (2 * LOT, 0)
    assert engine.balance(BOB, USD) == (301 - 1 - 1, 0)


def test_market_sell_fills_completely_when_bids_suffice() -> None:
    engine = new_engine((ALICE, USD, 10_000), (BOB, BTC, 5 * LOT))
    run(engine, limit(1, ALICE, BUY, 100, 4))
    events = run(engine, market(2, BOB, SELL, qty=3))
    assert [e.order_id for e in only(events, OrderFilled)] == [2]
    assert engine.depth(SYM, 5).bids == [(100, 1)]
    assert engine.balance(BOB, BTC) == (2 * LOT, 0)


def test_market_sell_is_rejected_when_base_is_short() -> None:
    engine = new_engine((BOB, BTC, 2 * LOT))
    events = run(engine, market(1, BOB, SELL, qty=3))
    assert only(events, OrderRejected)[0].reason is RejectReason.INSUFFICIENT_FUNDS


def test_market_buy_by_base_stops_at_what_it_can_pay_when_quote_runs_short() -> None:
    # given: asks 100 x 2 and 101 x 5; Alice has only 2.50 USD
    engine = new_engine((ALICE, USD, 250), (BOB, BTC, 7 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    run(engine, limit(2, BOB, SELL, 101, 5))
    # when: Alice market-buys 5 lots
    events = run(engine, market(3, ALICE, BUY, qty=5))
    # then: 2 lots at 100 are paid from available (no hold); one more lot would cost 1.01
    assert [(t.price, t.quantity) for t in only(events, TradeExecuted)] == [(100, 2)]
    (expired,) = only(events, OrderExpired)
    assert (expired.reason, expired.filled_quantity) == (EndReason.INSUFFICIENT_FUNDS, 2)
    alice = [m for m in moves(events) if m[0] == ALICE]
    assert alice == [(ALICE, USD, -200, 0, "trade"), (ALICE, BTC, 2 * LOT - 4_000, 0, "trade")]
    assert engine.balance(ALICE, USD) == (50, 0)
    assert engine.depth(SYM, 5).asks == [(101, 5)]


def test_market_buy_by_base_fills_part_of_a_level_when_funds_cover_only_some_lots() -> None:
    # given: ask 100 x 10; Alice has 3.50 USD
    engine = new_engine((ALICE, USD, 350), (BOB, BTC, 10 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 10))
    # when: she market-buys 10 lots
    events = run(engine, market(2, ALICE, BUY, qty=10))
    # then: 3 lots, never a cent more than she has
    assert [t.quantity for t in only(events, TradeExecuted)] == [3]
    assert engine.balance(ALICE, USD) == (50, 0)
    assert engine.depth(SYM, 5).asks == [(100, 7)]


def test_market_buy_by_base_is_accepted_then_expires_when_book_is_empty() -> None:
    engine = new_engine((ALICE, USD, 250))
    events = run(engine, market(1, ALICE, BUY, qty=5))
    assert kinds(events) == ["OrderAccepted", "OrderExpired"]
    assert only(events, OrderExpired)[0].reason is EndReason.NO_LIQUIDITY


def test_market_buy_by_quote_is_filled_when_budget_cannot_buy_another_lot() -> None:
    # given: asks 100 x 2 and 101 x 5; Alice spends at most 3.50 USD
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 7 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    run(engine, limit(2, BOB, SELL, 101, 5))
    # when
    events = run(engine, market(3, ALICE, BUY, quote=350))
    # then: 2 @ 100 + 1 @ 101 = 3.01; 0.49 cannot buy a lot at 101 -> filled, 0.49 released
    assert [(t.price, t.quantity) for t in only(events, TradeExecuted)] == [(100, 2), (101, 1)]
    (filled,) = [e for e in only(events, OrderFilled) if e.order_id == 3]
    assert (filled.filled_quantity, filled.filled_quote) == (3, 301)
    assert moves(events)[0] == (ALICE, USD, -350, 350, "hold")
    assert moves(events)[-1] == (ALICE, USD, 49, -49, "release")
    assert engine.balance(ALICE, USD) == (1_000 - 301, 0)
    assert engine.depth(SYM, 5).asks == [(101, 4)]


def test_market_buy_by_quote_expires_no_liquidity_when_book_runs_out() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    events = run(engine, market(2, ALICE, BUY, quote=1_000))
    (expired,) = only(events, OrderExpired)
    assert (expired.reason, expired.filled_quantity, expired.filled_quote) == (
        EndReason.NO_LIQUIDITY, 2, 200,
    )  # fmt: skip
    assert engine.balance(ALICE, USD) == (800, 0)


def test_market_buy_by_quote_expires_when_budget_cannot_buy_a_single_lot() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 101, 2))
    events = run(engine, market(2, ALICE, BUY, quote=100))
    assert kinds(events) == ["OrderAccepted", "BalanceChanged", "OrderExpired", "BalanceChanged"]
    assert engine.balance(ALICE, USD) == (1_000, 0)


def test_market_buy_by_quote_is_rejected_when_budget_exceeds_available() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    events = run(engine, market(1, ALICE, BUY, quote=1_001))
    assert only(events, OrderRejected)[0].reason is RejectReason.INSUFFICIENT_FUNDS


def test_market_order_trades_at_every_maker_price_when_it_sweeps() -> None:
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 3 * LOT), (CAROL, BTC, 3 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 3))
    run(engine, limit(2, CAROL, SELL, 150, 3))
    events = run(engine, market(3, ALICE, BUY, qty=6))
    assert [(t.price, t.maker_order_id) for t in only(events, TradeExecuted)] == [
        (100, 1), (150, 2),
    ]  # fmt: skip
    assert engine.balance(ALICE, USD) == (100_000 - 300 - 450, 0)
