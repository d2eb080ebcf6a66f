"""GTD orders: rest like GTC; a Tick at or after expire_time x 1,000,000 ns expires them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from matching import snapshot
from matching.commands import PlaceOrder
from matching.engine import MatchingEngine
from matching.errors import EndReason, RejectReason
from matching.events import BookChanged, OrderAccepted, OrderExpired, OrderRejected
from matching.expiry import COMPACT_FLOOR, MAX_EXPIRE_TIME_MS
from matching.types import AssetSpec, MarketStatus, Side, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SPEC,
    SYM,
    USD,
    add_market,
    book_changes,
    cancel,
    deposit,
    kinds,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
    set_status,
    tick,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, GTD = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.GTD
R = RejectReason
MS = 1_000_000  # ns
ETH_SPEC = replace(SPEC, symbol="ETH-USD", base=AssetSpec("ETH", 8))


def _engine() -> MatchingEngine:
    return new_engine((ALICE, USD, 10_000_000), (BOB, BTC, 100 * LOT), (CAROL, USD, 10_000_000))


def _gtd(
    order_id: int, account: int, side: Side, price: int, qty: int, expire_ms: int
) -> PlaceOrder:
    return limit(order_id, account, side, price, qty, GTD, expire_time=expire_ms)


def test_gtd_order_rests_like_gtc_when_placed() -> None:
    engine = _engine()
    events = run(engine, _gtd(1, ALICE, BUY, 100, 5, expire_ms=5))
    assert kinds(events) == ["OrderAccepted", "BalanceChanged", "BookChanged"]
    accepted = only(events, OrderAccepted)[0]
    assert (accepted.time_in_force, accepted.expire_time) == (GTD, 5)
    assert engine.depth(SYM, 5).bids == [(100, 5)]
    view = engine.order(1)
    assert view is not None and view.expire_time == 5


def test_gtd_order_expires_at_its_exact_tick_and_not_one_ns_earlier() -> None:
    # given Alice's GTD bid expiring at 5 ms
    engine = _engine()
    run(engine, _gtd(1, ALICE, BUY, 100, 5, expire_ms=5))
    seq = engine.seq
    # when a Tick comes one ns early: nothing
    assert run(engine, tick(5 * MS - 1)) == []
    assert engine.seq == seq and engine.order(1) is not None
    # when a Tick comes at exactly 5 ms: expired, released, book changed
    events = run(engine, tick(5 * MS))
    assert kinds(events) == ["OrderExpired", "BalanceChanged", "BookChanged"]
    expired = only(events, OrderExpired)[0]
    assert (expired.order_id, expired.reason) == (1, EndReason.GTD_EXPIRED)
    assert moves(events) == [(ALICE, USD, 500, -500, "release")]
    assert book_changes(events) == [(((100, 0),), ())]
    assert engine.order(1) is None
    assert engine.balance(ALICE, USD) == (10_000_000, 0)


def test_tick_emits_nothing_when_nothing_is_due() -> None:
    engine = _engine()
    assert run(engine, tick(10**18)) == []  # no GTD order at all
    run(engine, limit(1, ALICE, BUY, 100, 5))  # a GTC order never expires
    run(engine, _gtd(2, ALICE, BUY, 99, 5, expire_ms=50))
    seq = engine.seq
    assert run(engine, tick(49 * MS)) == []
    assert engine.seq == seq


def test_partly_filled_gtd_order_expires_with_its_fill_and_releases_the_rest() -> None:
    # given a GTD bid of 5 with 2 filled
    engine = _engine()
    run(engine, _gtd(1, ALICE, BUY, 100, 5, expire_ms=7))
    run(engine, limit(2, BOB, SELL, 100, 2))
    # when it expires
    events = run(engine, tick(7 * MS))
    # then its fill stands and what it still held for 3 lots comes back
    expired = only(events, OrderExpired)[0]
    assert (expired.filled_quantity, expired.filled_quote) == (2, 200)
    assert moves(events) == [(ALICE, USD, 300, -300, "release")]
    assert engine.balance(ALICE, USD) == (10_000_000 - 200, 0)


def test_tick_expires_in_expire_time_then_order_id_order_with_one_book_change_per_market() -> None:
    # given GTD orders in two markets, placed out of expiry order
    engine = _engine()
    run(engine, add_market(ETH_SPEC))
    run(engine, deposit(BOB, "ETH", 100 * LOT))
    run(engine, _gtd(7, ALICE, BUY, 100, 2, expire_ms=3))
    run(engine, _gtd(5, BOB, SELL, 200, 2, expire_ms=3)._replace(symbol="ETH-USD"))
    run(engine, _gtd(6, BOB, SELL, 201, 2, expire_ms=2))
    run(engine, _gtd(3, CAROL, BUY, 99, 2, expire_ms=4))
    run(engine, _gtd(4, CAROL, BUY, 98, 2, expire_ms=9))  # not due
    assert len(engine.open_orders_by_id) == 5
    # when one Tick covers four of them
    events = run(engine, tick(4 * MS))
    # then in (expire_time, order_id) order, then a BookChanged per market in first-touch order
    assert [e.order_id for e in only(events, OrderExpired)] == [6, 5, 7, 3]
    changes = only(events, BookChanged)
    assert [(c.symbol, c.bids, c.asks) for c in changes] == [
        (SYM, ((100, 0), (99, 0)), ((201, 0),)),
        ("ETH-USD", (), ((200, 0),)),
    ]
    assert events[-2:] == changes
    assert engine.next_expiry_ns() == 9 * MS


def test_next_expiry_ns_ignores_orders_that_already_ended() -> None:
    # given GTD orders expiring at 3, 4 and 6 ms
    engine = _engine()
    assert engine.next_expiry_ns() is None
    run(engine, _gtd(1, ALICE, BUY, 100, 2, expire_ms=3))
    run(engine, _gtd(2, ALICE, BUY, 99, 2, expire_ms=4))
    run(engine, _gtd(3, ALICE, BUY, 98, 2, expire_ms=6))
    assert engine.next_expiry_ns() == 3 * MS
    # when the first is filled and the second cancelled
    run(engine, market(4, BOB, SELL, 2))
    run(engine, cancel(ALICE, 2))
    # then the earliest open one is the third; a Tick before it does nothing
    assert engine.next_expiry_ns() == 6 * MS
    assert run(engine, tick(5 * MS)) == []
    run(engine, tick(6 * MS))
    assert engine.next_expiry_ns() is None


def test_gtd_order_that_ended_before_its_expiry_is_not_expired_by_a_tick() -> None:
    engine = _engine()
    run(engine, _gtd(1, ALICE, BUY, 100, 2, expire_ms=3))
    run(engine, limit(2, BOB, SELL, 100, 2))
    assert run(engine, tick(3 * MS)) == []


def test_gtd_taker_that_fills_completely_is_never_indexed() -> None:
    engine = _engine()
    run(engine, limit(1, BOB, SELL, 100, 2))
    events = run(engine, _gtd(2, ALICE, BUY, 100, 2, expire_ms=3))
    assert "OrderFilled" in kinds(events)
    assert engine.expiries == []


def test_gtd_order_expires_when_its_market_is_halted() -> None:
    engine = _engine()
    run(engine, _gtd(1, ALICE, BUY, 100, 2, expire_ms=3))
    run(engine, set_status(MarketStatus.HALTED))
    events = run(engine, tick(3 * MS))
    assert [e.order_id for e in only(events, OrderExpired)] == [1]


def test_gtd_iceberg_expires_and_releases_its_whole_remaining() -> None:
    engine = _engine()
    run(engine, limit(1, BOB, SELL, 100, 10, GTD, iceberg=3, expire_time=4))
    run(engine, limit(2, ALICE, BUY, 100, 4))
    events = run(engine, tick(4 * MS))
    assert moves(events) == [(BOB, BTC, 6 * LOT, -6 * LOT, "release")]
    assert book_changes(events) == [((), ((100, 0),))]


def test_post_only_gtd_order_rests_when_it_does_not_cross() -> None:
    engine = _engine()
    events = run(engine, limit(1, ALICE, BUY, 100, 2, GTD, post_only=True, expire_time=3))
    assert kinds(events) == ["OrderAccepted", "BalanceChanged", "BookChanged"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (limit(1, ALICE, BUY, 100, 2, GTD), R.INVALID_EXPIRE_TIME),  # GTD needs it
        (limit(1, ALICE, BUY, 100, 2, GTC, expire_time=10), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 100, 2, IOC, expire_time=10), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 100, 2, GTD, expire_time=5, ts=5 * MS), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 100, 2, GTD, expire_time=5, ts=6 * MS), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 100, 2, GTD, expire_time=0, ts=0), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 100, 2, GTD, expire_time=-1, ts=-(10**7)), R.INVALID_EXPIRE_TIME),
        (
            limit(1, ALICE, BUY, 100, 2, GTD, expire_time=MAX_EXPIRE_TIME_MS + 1),
            R.INVALID_EXPIRE_TIME,
        ),
        (market(1, ALICE, BUY, 2)._replace(expire_time=10), R.INVALID_EXPIRE_TIME),
        (limit(1, ALICE, BUY, 0, 2, GTD), R.INVALID_PRICE),  # the ordinary checks come first
    ],
)
def test_gtd_order_is_refused_when_its_expire_time_is_wrong(
    command: PlaceOrder, reason: RejectReason
) -> None:
    engine = _engine()
    events = run(engine, command)
    assert kinds(events) == ["OrderRejected"]
    assert only(events, OrderRejected)[0].reason is reason
    assert only(events, OrderRejected)[0].expire_time == command.expire_time
    assert engine.expiries == [] and engine.order(1) is None


@pytest.mark.parametrize(
    "command",
    [
        limit(1, ALICE, BUY, 100, 2, GTD, expire_time=5, ts=5 * MS - 1),  # one ns after ts
        limit(1, ALICE, BUY, 100, 2, GTD, expire_time=MAX_EXPIRE_TIME_MS),
    ],
)
def test_gtd_order_is_accepted_when_its_expire_time_is_after_the_command(
    command: PlaceOrder,
) -> None:
    engine = _engine()
    assert kinds(run(engine, command))[0] == "OrderAccepted"
    assert engine.next_expiry_ns() == command.expire_time * MS  # type: ignore[operator]


def test_restored_engine_expires_the_same_orders_when_the_index_was_snapshotted() -> None:
    # given GTD orders, one of them already cancelled (a stale index entry)
    engine = _engine()
    run(engine, _gtd(1, ALICE, BUY, 100, 2, expire_ms=3))
    run(engine, _gtd(2, ALICE, BUY, 99, 2, expire_ms=2))
    run(engine, _gtd(3, CAROL, BUY, 98, 2, expire_ms=8))
    run(engine, cancel(ALICE, 2))
    # when it is dumped and loaded
    restored = snapshot.load(json.loads(json.dumps(snapshot.dump(engine))))
    restored.validate()
    # then the same hash, the same next expiry and the same Tick events
    assert restored.state_hash() == engine.state_hash()
    assert restored.next_expiry_ns() == engine.next_expiry_ns() == 3 * MS
    due = tick(8 * MS)
    assert restored.apply(due) == engine.apply(due)
    assert restored.state_hash() == engine.state_hash()


def test_state_hash_differs_when_only_the_expire_time_differs() -> None:
    a, b = _engine(), _engine()
    run(a, _gtd(1, ALICE, BUY, 100, 2, expire_ms=3))
    run(b, _gtd(1, ALICE, BUY, 100, 2, expire_ms=4))
    assert a.state_hash() != b.state_hash()


def test_expiry_index_stays_bounded_when_gtd_orders_end_before_they_expire() -> None:
    # given many GTD orders with far expiries, each cancelled right after it was placed
    engine = _engine()
    for order_id in range(1, 3 * COMPACT_FLOOR):
        engine.apply(_gtd(order_id, ALICE, BUY, 100, 1, expire_ms=10**9))
        engine.apply(cancel(ALICE, order_id))
    # then the index was compacted: it never holds much more than its floor
    assert len(engine.expiries) <= COMPACT_FLOOR
    engine.validate()
    assert engine.next_expiry_ns() is None
