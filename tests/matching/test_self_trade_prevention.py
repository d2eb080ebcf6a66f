"""Self-trade prevention, by the taker's stp_mode.

Given for every test: Carol asks 1 at 100 (first), then Alice asks 2 at 100, Bob asks 2 at 101.
When Alice buys 4 at 101, she meets Carol's lot, then her own ask.
"""

from __future__ import annotations

from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import OrderExpired, TradeExecuted
from matching.types import Side, StpMode, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SYM,
    USD,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL


def _given() -> MatchingEngine:
    engine = new_engine((ALICE, USD, 10_000), (ALICE, BTC, 2 * LOT), (BOB, BTC, 2 * LOT),
                        (CAROL, BTC, LOT))  # fmt: skip
    run(engine, limit(1, CAROL, SELL, 100, 1))
    run(engine, limit(2, ALICE, SELL, 100, 2))
    run(engine, limit(3, BOB, SELL, 101, 2))
    return engine


def test_expire_taker_keeps_earlier_fills_and_maker_when_taker_meets_own_order() -> None:
    engine = _given()
    events = run(engine, limit(4, ALICE, BUY, 101, 4, stp=StpMode.EXPIRE_TAKER))
    assert [t.maker_order_id for t in only(events, TradeExecuted)] == [1]
    (expired,) = only(events, OrderExpired)
    assert (expired.order_id, expired.reason, expired.filled_quantity) == (
        4, EndReason.SELF_TRADE_PREVENTION, 1,
    )  # fmt: skip
    assert moves(events)[-1] == (ALICE, USD, 303, -303, "release")  # 3 lots x 101
    assert engine.depth(SYM, 5).asks == [(100, 2), (101, 2)]
    assert engine.balance(ALICE, USD) == (10_000 - 100, 0)


def test_expire_maker_cancels_own_resting_order_and_continues_when_taker_meets_it() -> None:
    engine = _given()
    events = run(engine, limit(4, ALICE, BUY, 101, 4, stp=StpMode.EXPIRE_MAKER))
    assert [t.maker_order_id for t in only(events, TradeExecuted)] == [1, 3]
    (expired,) = only(events, OrderExpired)
    assert (expired.order_id, expired.reason) == (2, EndReason.SELF_TRADE_PREVENTION)
    assert (ALICE, BTC, 2 * LOT, -2 * LOT, "release") in moves(events)
    assert engine.depth(SYM, 5) == (SYM, 4, [(101, 1)], [])
    assert engine.balance(ALICE, BTC)[1] == 0


def test_expire_both_expires_maker_and_taker_when_they_meet() -> None:
    engine = _given()
    events = run(engine, limit(4, ALICE, BUY, 101, 4, stp=StpMode.EXPIRE_BOTH))
    assert [t.maker_order_id for t in only(events, TradeExecuted)] == [1]
    assert [(e.order_id, e.reason) for e in only(events, OrderExpired)] == [
        (2, EndReason.SELF_TRADE_PREVENTION), (4, EndReason.SELF_TRADE_PREVENTION),
    ]  # fmt: skip
    assert engine.depth(SYM, 5).asks == [(101, 2)]
    assert engine.balance(ALICE, USD) == (10_000 - 100, 0)
    assert engine.balance(ALICE, BTC) == (2 * LOT + LOT - 2_000, 0)


def test_market_order_applies_stp_when_it_meets_own_order() -> None:
    engine = _given()
    events = run(engine, market(4, ALICE, BUY, qty=4))
    assert [t.maker_order_id for t in only(events, TradeExecuted)] == [1]
    assert only(events, OrderExpired)[0].reason is EndReason.SELF_TRADE_PREVENTION


def test_fok_counts_only_what_stp_leaves_when_own_order_is_in_the_way() -> None:
    engine = _given()
    # expire_taker would stop at Alice's own ask after 1 lot: FOK for 2 is not fillable
    rejected = run(engine, limit(4, ALICE, BUY, 101, 2, TimeInForce.FOK))
    assert rejected[0].reason.value == "fok_not_fillable"  # type: ignore[union-attr]
    # expire_maker skips it: 1 (Carol) + 2 (Bob) = 3 lots are fillable

    events = run(engine, limit(5, ALICE, BUY, 101, 3, TimeInForce.FOK, stp=StpMode.EXPIRE_MAKER))
    assert [t.maker_order_id for t in only(events, TradeExecuted)] == [1, 3]
