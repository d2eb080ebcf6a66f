"""LIMIT orders (GTC, IOC, FOK, post-only): the classic matching cases, balances spelled out.

Market BTC-USD (see builders): price ticks = whole USD, 1 lot = 0.01 BTC = 1,000,000 atoms,
notional atoms (cents) = price x lots; taker fee 0.2 % of what it receives, maker 0.1 %.
"""

from __future__ import annotations

from matching.errors import EndReason, RejectReason
from matching.events import (
    BookChanged,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    TradeExecuted,
)
from matching.types import Side, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    DAVE,
    FEE_ACCOUNT,
    LOT,
    SYM,
    USD,
    book_changes,
    cancel,
    kinds,
    limit,
    moves,
    new_engine,
    only,
    run,
)

BUY, SELL = Side.BUY, Side.SELL


def test_small_buy_fills_against_large_ask_when_ask_rests_at_same_price() -> None:
    # given: Bob asks 10 lots at 100; Alice has 1000.00 USD
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 10 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 10))
    # when: Alice buys 1 lot at 100
    events = run(engine, limit(2, ALICE, BUY, 100, 1))
    # then: one trade at 100 x 1; Bob's ask keeps 9 lots; fees to the fee account
    assert kinds(events) == [
        "OrderAccepted", "BalanceChanged", "TradeExecuted", "BalanceChanged", "BalanceChanged",
        "BalanceChanged", "BalanceChanged", "BalanceChanged", "BalanceChanged", "OrderFilled",
        "BookChanged",
    ]  # fmt: skip
    (trade,) = only(events, TradeExecuted)
    assert (trade.price, trade.quantity, trade.quote_amount, trade.trade_id) == (100, 1, 100, 1)
    assert (trade.maker_order_id, trade.taker_order_id) == (1, 2)
    assert (trade.taker_fee, trade.taker_fee_asset) == (2_000, BTC)
    assert (trade.maker_fee, trade.maker_fee_asset) == (1, USD)
    assert (trade.maker_filled, trade.taker_filled) == (1, 1)
    assert book_changes(events) == [((), ((100, 9),))]
    assert engine.depth(SYM, 5).asks == [(100, 9)]
    assert engine.balance(ALICE, USD) == (99_900, 0)
    assert engine.balance(ALICE, BTC) == (LOT - 2_000, 0)
    assert engine.balance(BOB, BTC) == (0, 9 * LOT)
    assert engine.balance(BOB, USD) == (99, 0)
    assert engine.balances(FEE_ACCOUNT) == {BTC: (2_000, 0), USD: (1, 0)}


def test_several_makers_fill_in_time_priority_when_they_share_a_level() -> None:
    # given: Bob 3, Carol 4, Dave 5 lots, all asking 100, in that order
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 3 * LOT), (CAROL, BTC, 4 * LOT),
                        (DAVE, BTC, 5 * LOT))  # fmt: skip
    run(engine, limit(1, BOB, SELL, 100, 3))
    run(engine, limit(2, CAROL, SELL, 100, 4))
    run(engine, limit(3, DAVE, SELL, 100, 5))
    # when: Alice buys 8 at 100
    events = run(engine, limit(4, ALICE, BUY, 100, 8))
    # then: Bob and Carol fill completely, Dave gives 1 and keeps 4 at the front
    trades = [(t.maker_order_id, t.quantity) for t in only(events, TradeExecuted)]
    assert trades == [(1, 3), (2, 4), (3, 1)]
    assert [t.trade_id for t in only(events, TradeExecuted)] == [1, 2, 3]
    assert [e.order_id for e in only(events, OrderFilled)] == [1, 2, 4]
    assert engine.depth(SYM, 5).asks == [(100, 4)]
    view = engine.order(3)
    assert view is not None and (view.filled, view.remaining, view.filled_quote) == (1, 4, 100)
    assert engine.order(1) is None and engine.order(4) is None
    assert engine.balance(ALICE, USD) == (100_000 - 800, 0)
    assert engine.balance(DAVE, BTC) == (0, 4 * LOT)


def test_buy_sweeps_levels_and_releases_improvement_when_limit_is_above_asks() -> None:
    # given: asks 100 x 2 (Bob), 101 x 2 (Carol), 103 x 2 (Bob); Alice has 1000.00 USD
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 4 * LOT), (CAROL, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    run(engine, limit(2, CAROL, SELL, 101, 2))
    run(engine, limit(3, BOB, SELL, 103, 2))
    # when: Alice buys 5 at 103 (holds 515)
    events = run(engine, limit(4, ALICE, BUY, 103, 5))
    # then: fills 2@100, 2@101, 1@103 and releases (103-p) x q after each fill at once
    assert [(t.price, t.quantity) for t in only(events, TradeExecuted)] == [
        (100, 2), (101, 2), (103, 1),
    ]  # fmt: skip
    alice_usd = [m for m in moves(events) if m[0] == ALICE and m[1] == USD]
    assert alice_usd == [
        (ALICE, USD, -515, 515, "hold"),
        (ALICE, USD, 0, -200, "trade"), (ALICE, USD, 6, -6, "release"),
        (ALICE, USD, 0, -202, "trade"), (ALICE, USD, 4, -4, "release"),
        (ALICE, USD, 0, -103, "trade"),
    ]  # fmt: skip
    assert book_changes(events) == [((), ((100, 0), (101, 0), (103, 1)))]
    assert engine.balance(ALICE, USD) == (100_000 - 505, 0)
    assert engine.balance(ALICE, BTC) == (5 * LOT - 10_000, 0)


def test_limit_buy_releases_difference_at_once_when_filled_below_its_limit() -> None:
    # given: Bob asks 2 at 100
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    # when: Alice bids 105 for 2 (holds 210)
    events = run(engine, limit(2, ALICE, BUY, 105, 2))
    # then: the 10 cents of price improvement are released with the trade's cause
    assert [m for m in moves(events) if m[0] == ALICE and m[1] == USD] == [
        (ALICE, USD, -210, 210, "hold"),
        (ALICE, USD, 0, -200, "trade"),
        (ALICE, USD, 10, -10, "release"),
    ]
    assert engine.balance(ALICE, USD) == (800, 0)


def test_partial_fill_then_cancel_releases_only_the_rest_when_maker_cancels() -> None:
    # given: Bob asks 10 at 100, Alice takes 4
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 10 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 10))
    run(engine, limit(2, ALICE, BUY, 100, 4))
    assert engine.balance(BOB, BTC) == (0, 6 * LOT)
    # when: Bob cancels
    events = run(engine, cancel(BOB, 1))
    # then: 6 lots come back; the cancel reports the 4 filled
    assert kinds(events) == ["OrderCancelled", "BalanceChanged", "BookChanged"]
    assert events[0].filled_quantity == 4 and events[0].filled_quote == 400  # type: ignore[union-attr]
    assert moves(events) == [(BOB, BTC, 6 * LOT, -6 * LOT, "release")]
    assert engine.balance(BOB, BTC) == (6 * LOT, 0)
    assert engine.depth(SYM, 5).asks == []


def test_taker_remainder_rests_when_gtc_buy_outsizes_the_book() -> None:
    # given: Bob asks 2 at 100
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    # when: Alice bids 5 at 100
    events = run(engine, limit(2, ALICE, BUY, 100, 5))
    # then: 2 fill, 3 rest as the best bid; one BookChanged with both sides
    assert book_changes(events) == [(((100, 3),), ((100, 0),))]
    assert engine.depth(SYM, 5) == (SYM, 2, [(100, 3)], [])
    assert engine.balance(ALICE, USD) == (100_000 - 500, 300)


def test_sell_taker_fills_best_bid_first_when_bids_at_several_prices() -> None:
    # given: bids 100 x 1 (Alice), 102 x 1 (Carol), 101 x 1 (Alice)
    engine = new_engine((ALICE, USD, 10_000), (CAROL, USD, 10_000), (BOB, BTC, 5 * LOT))
    run(engine, limit(1, ALICE, BUY, 100, 1))
    run(engine, limit(2, CAROL, BUY, 102, 1))
    run(engine, limit(3, ALICE, BUY, 101, 1))
    # when: Bob sells 3 at 100
    events = run(engine, limit(4, BOB, SELL, 100, 3))
    # then: maker prices 102, 101, 100; Bob receives quote minus his 0.2 % taker fee (ceil)
    assert [(t.maker_order_id, t.price) for t in only(events, TradeExecuted)] == [
        (2, 102), (3, 101), (1, 100),
    ]  # fmt: skip
    assert engine.balance(BOB, USD) == (303 - 1 - 1 - 1, 0)
    assert engine.balance(CAROL, BTC) == (LOT - 1_000, 0)  # maker fee 0.1 % of base
    assert engine.depth(SYM, 5).bids == []


def test_ioc_expires_its_rest_and_releases_when_partially_filled() -> None:
    # given: Bob asks 2 at 100
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    # when: Alice IOC-buys 5 at 100
    events = run(engine, limit(2, ALICE, BUY, 100, 5, TimeInForce.IOC))
    # then: 2 fill, 3 expire, their 300 cents come back; nothing rests
    (expired,) = only(events, OrderExpired)
    assert (expired.reason, expired.filled_quantity) == (EndReason.IOC_UNFILLED, 2)
    assert moves(events)[-1] == (ALICE, USD, 300, -300, "release")
    assert engine.balance(ALICE, USD) == (800, 0)
    assert engine.depth(SYM, 5) == (SYM, 2, [], [])


def test_ioc_expires_without_trading_when_book_does_not_cross() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 101, 2))
    events = run(engine, limit(2, ALICE, BUY, 100, 5, TimeInForce.IOC))
    assert kinds(events) == ["OrderAccepted", "BalanceChanged", "OrderExpired", "BalanceChanged"]
    assert engine.balance(ALICE, USD) == (1_000, 0)


def test_fok_fills_completely_when_enough_quantity_within_limit() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT), (CAROL, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    run(engine, limit(2, CAROL, SELL, 101, 2))
    events = run(engine, limit(3, ALICE, BUY, 101, 3, TimeInForce.FOK))
    assert [t.quantity for t in only(events, TradeExecuted)] == [2, 1]
    assert only(events, OrderFilled)[-1].order_id == 3


def test_fok_is_rejected_without_trace_when_not_enough_within_limit() -> None:
    # given: 2 at 100 and 2 at 102
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 4 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    run(engine, limit(2, BOB, SELL, 102, 2))
    before = engine.balances(ALICE), engine.depth(SYM, 5)
    # when: FOK for 3 at 101
    events = run(engine, limit(3, ALICE, BUY, 101, 3, TimeInForce.FOK, client_order_id="f1"))
    # then: rejected; nothing moved; the client order id is still free
    assert kinds(events) == ["OrderRejected"]
    assert only(events, OrderRejected)[0].reason is RejectReason.FOK_NOT_FILLABLE
    assert (engine.balances(ALICE), engine.depth(SYM, 5)[2:]) == (before[0], before[1][2:])
    assert kinds(run(engine, limit(4, ALICE, BUY, 100, 1, client_order_id="f1")))[0] == (
        "OrderAccepted"
    )


def test_fok_is_rejected_when_the_book_does_not_cross() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    events = run(engine, limit(1, ALICE, BUY, 100, 1, TimeInForce.FOK))
    assert only(events, OrderRejected)[0].reason is RejectReason.FOK_NOT_FILLABLE


def test_post_only_rests_when_it_would_not_take() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 101, 2))
    events = run(engine, limit(2, ALICE, BUY, 100, 2, post_only=True))
    assert isinstance(events[0], OrderAccepted)
    assert engine.depth(SYM, 5).bids == [(100, 2)]


def test_post_only_is_rejected_without_trace_when_it_would_take() -> None:
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2))
    events = run(engine, limit(2, ALICE, BUY, 100, 2, post_only=True))
    assert [e.reason for e in only(events, OrderRejected)] == [RejectReason.POST_ONLY_WOULD_TAKE]
    assert engine.balance(ALICE, USD) == (1_000, 0)
    assert engine.depth(SYM, 5).asks == [(100, 2)]


def test_book_changed_update_ids_count_per_market_when_commands_change_levels() -> None:
    engine = new_engine((ALICE, USD, 10_000))
    ids = []
    for i, price in enumerate((90, 91, 92), start=1):
        ids += [e.update_id for e in only(run(engine, limit(i, ALICE, BUY, price, 2)), BookChanged)]
    assert ids == [1, 2, 3]
    assert engine.depth(SYM, 2) == (SYM, 3, [(92, 2), (91, 2)], [])
