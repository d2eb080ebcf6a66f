"""CancelOrder and CancelAll: only the owner's orders; holds come back exactly."""

from __future__ import annotations

from dataclasses import replace

from matching.errors import EndReason, RejectReason
from matching.events import BookChanged, CommandRejected, OrderCancelled
from matching.types import AssetSpec, MarketStatus, Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    LOT,
    SPEC,
    SYM,
    USD,
    add_market,
    cancel,
    cancel_all,
    deposit,
    kinds,
    limit,
    moves,
    new_engine,
    only,
    run,
    set_status,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL


def test_cancel_by_order_id_releases_hold_when_owner_cancels() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, BUY, 100, 3))
    events = run(engine, cancel(ALICE, 1))
    assert kinds(events) == ["OrderCancelled", "BalanceChanged", "BookChanged"]
    assert events[0].reason is EndReason.USER_CANCELLED  # type: ignore[union-attr]
    assert moves(events) == [(ALICE, USD, 300, -300, "release")]
    assert only(events, BookChanged)[0].bids == ((100, 0),)
    assert engine.balance(ALICE, USD) == (1_000, 0)
    assert engine.open_orders(ALICE) == []


def test_cancel_by_client_order_id_finds_the_order_when_order_id_is_absent() -> None:
    engine = new_engine((BOB, BTC, 2 * LOT))
    run(engine, limit(1, BOB, SELL, 100, 2, client_order_id="my-ask"))
    events = run(engine, cancel(BOB, client_order_id="my-ask"))
    assert only(events, OrderCancelled)[0].order_id == 1
    assert engine.balance(BOB, BTC) == (2 * LOT, 0)


def test_cancel_reports_order_not_found_when_order_belongs_to_another_account() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, BUY, 100, 3, client_order_id="a"))
    for cmd in (cancel(BOB, 1), cancel(BOB, client_order_id="a"), cancel(ALICE, 99)):
        events = run(engine, cmd)
        assert [e.reason for e in only(events, CommandRejected)] == [RejectReason.ORDER_NOT_FOUND]
    assert engine.depth(SYM, 5).bids == [(100, 3)]


def test_cancel_reports_order_not_found_when_order_already_ended() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, BUY, 100, 3))
    run(engine, cancel(ALICE, 1))
    events = run(engine, cancel(ALICE, 1))
    assert only(events, CommandRejected)[0].reason is RejectReason.ORDER_NOT_FOUND


def test_cancel_is_refused_when_it_names_no_order_or_an_unknown_market() -> None:
    engine = new_engine()
    assert run(engine, cancel(ALICE))[0].reason is RejectReason.INVALID_ORDER  # type: ignore[union-attr]
    events = run(engine, cancel(ALICE, 1, symbol="ETH-USD"))
    assert events[0].reason is RejectReason.UNKNOWN_MARKET  # type: ignore[union-attr]


def test_cancel_reports_order_not_found_when_symbol_is_not_the_orders_market() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, add_market(replace(SPEC, symbol="ETH-USD", base=AssetSpec("ETH", 18))))
    run(engine, limit(1, ALICE, BUY, 100, 3))
    events = run(engine, cancel(ALICE, 1, symbol="ETH-USD"))
    assert events[0].reason is RejectReason.ORDER_NOT_FOUND  # type: ignore[union-attr]


def test_cancel_is_allowed_when_market_is_halted() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, BUY, 100, 3))
    run(engine, set_status(MarketStatus.HALTED))
    events = run(engine, cancel(ALICE, 1))
    assert kinds(events)[0] == "OrderCancelled"
    assert engine.balance(ALICE, USD) == (1_000, 0)


def test_cancel_all_releases_every_hold_when_account_has_several_orders() -> None:
    # given: Alice bids 100 x 2 and 101 x 3, asks 110 x 1; Bob bids 99 x 2
    engine = new_engine((ALICE, USD, 1_000), (ALICE, BTC, LOT), (BOB, USD, 1_000))
    run(engine, limit(1, ALICE, BUY, 100, 2))
    run(engine, limit(2, ALICE, BUY, 101, 3))
    run(engine, limit(3, ALICE, SELL, 110, 1))
    run(engine, limit(4, BOB, BUY, 99, 2))
    assert engine.balance(ALICE, USD) == (1_000 - 503, 503)
    # when
    events = run(engine, cancel_all(ALICE))
    # then: three cancels in acceptance order, everything released, one BookChanged
    assert [(e.order_id, e.reason) for e in only(events, OrderCancelled)] == [
        (1, EndReason.CANCEL_ALL), (2, EndReason.CANCEL_ALL), (3, EndReason.CANCEL_ALL),
    ]  # fmt: skip
    assert [(e.bids, e.asks) for e in only(events, BookChanged)] == [
        (((101, 0), (100, 0)), ((110, 0),))
    ]
    assert engine.balance(ALICE, USD) == (1_000, 0)
    assert engine.balance(ALICE, BTC) == (LOT, 0)
    assert engine.depth(SYM, 5).bids == [(99, 2)]


def test_cancel_all_touches_one_market_when_symbol_is_given() -> None:
    engine = new_engine((ALICE, USD, 10_000), (ALICE, BTC, LOT))
    eth = replace(SPEC, symbol="ETH-USD", base=AssetSpec("ETH", 18))
    run(engine, add_market(eth))
    run(engine, limit(1, ALICE, BUY, 100, 2))
    run(engine, limit(2, ALICE, BUY, 100, 2, symbol="ETH-USD"))
    events = run(engine, cancel_all(ALICE, "ETH-USD"))
    assert [e.order_id for e in only(events, OrderCancelled)] == [2]
    assert [e.symbol for e in only(events, BookChanged)] == ["ETH-USD"]
    assert [o.order_id for o in engine.open_orders(ALICE)] == [1]


def test_cancel_all_emits_one_book_change_per_market_when_orders_span_markets() -> None:
    engine = new_engine((ALICE, USD, 10_000))
    run(engine, add_market(replace(SPEC, symbol="ETH-USD", base=AssetSpec("ETH", 18))))
    run(engine, limit(1, ALICE, BUY, 100, 2))
    run(engine, limit(2, ALICE, BUY, 100, 2, symbol="ETH-USD"))
    run(engine, limit(3, ALICE, BUY, 101, 2))
    events = run(engine, cancel_all(ALICE))
    assert [(e.symbol, e.bids) for e in only(events, BookChanged)] == [
        (SYM, ((101, 0), (100, 0))), ("ETH-USD", ((100, 0),)),
    ]  # fmt: skip


def test_cancel_all_returns_no_events_when_nothing_is_open() -> None:
    engine = new_engine()
    seq = engine.seq
    assert run(engine, cancel_all(ALICE)) == []
    assert engine.seq == seq


def test_cancel_all_is_refused_when_market_is_unknown() -> None:
    engine = new_engine()
    events = run(engine, cancel_all(ALICE, "NOPE"))
    assert events[0].reason is RejectReason.UNKNOWN_MARKET  # type: ignore[union-attr]
    assert deposit is not None
