"""PlaceOrder validation: each reason, their order, and that a rejection leaves no trace."""

from __future__ import annotations

from typing import Any

import pytest

from matching import snapshot
from matching.commands import PlaceOrder
from matching.engine import MatchingEngine
from matching.errors import RejectReason
from matching.events import OrderRejected
from matching.types import MarketStatus, OrderType, Side, StpMode, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    LOT,
    USD,
    cancel,
    kinds,
    limit,
    market,
    new_engine,
    only,
    run,
    set_status,
)  # fmt: skip

BUY, SELL = Side.BUY, Side.SELL
R = RejectReason


def _engine() -> MatchingEngine:
    """Alice: 10.00 USD; Bob: 2 lots BTC; order 1 (Alice, bid 100 x 2, client id "used")."""
    engine = new_engine((ALICE, USD, 1_000), (BOB, BTC, 2 * LOT))
    run(engine, limit(1, ALICE, BUY, 100, 2, client_order_id="used"))
    return engine


def _raw(**kw: Any) -> PlaceOrder:
    base = limit(50, ALICE, BUY, 100, 1)
    return base._replace(**kw)


CASES = [
    (limit(50, ALICE, BUY, 100, 1, symbol="ETH-USD"), R.UNKNOWN_MARKET),
    (limit(1, ALICE, BUY, 100, 1), R.DUPLICATE_ORDER_ID),
    (limit(50, ALICE, BUY, 100, 1, client_order_id="used"), R.DUPLICATE_CLIENT_ORDER_ID),
    (_raw(price=None), R.INVALID_ORDER),
    (_raw(quantity=None), R.INVALID_ORDER),
    (_raw(quote_quantity=500), R.INVALID_ORDER),
    (_raw(post_only=True, time_in_force=TimeInForce.IOC), R.INVALID_ORDER),
    (_raw(type=OrderType.MARKET), R.INVALID_ORDER),  # market with a price
    (_raw(type=OrderType.MARKET, price=None, post_only=True), R.INVALID_ORDER),
    (market(50, ALICE, BUY), R.INVALID_ORDER),  # neither quantity nor quote
    (market(50, ALICE, BUY, qty=1, quote=100), R.INVALID_ORDER),  # both
    (market(50, BOB, SELL, quote=100), R.INVALID_ORDER),  # sell by quote
    (_raw(client_order_id=""), R.INVALID_ORDER),
    (_raw(client_order_id="x" * 65), R.INVALID_ORDER),
    (_raw(time_in_force="GTD"), R.INVALID_ORDER),
    (_raw(stp_mode="none"), R.INVALID_ORDER),
    (_raw(price=0), R.INVALID_PRICE),
    (_raw(price=-100), R.INVALID_PRICE),
    (_raw(price=2**62 + 1), R.INVALID_PRICE),
    (_raw(quantity=0), R.INVALID_QUANTITY),
    (_raw(quantity=-1), R.INVALID_QUANTITY),
    (_raw(quantity=2**62 + 1), R.INVALID_QUANTITY),
    (market(50, ALICE, BUY, quote=0), R.INVALID_QUANTITY),
    (market(50, BOB, SELL, qty=0), R.INVALID_QUANTITY),
    (_raw(price=99, quantity=1), R.BELOW_MIN_NOTIONAL),  # 0.99 < 1.00
    (market(50, ALICE, BUY, quote=99), R.BELOW_MIN_NOTIONAL),
    (_raw(price=100, quantity=9), R.INSUFFICIENT_FUNDS),  # 9.00 > 8.00 available
    (limit(50, BOB, SELL, 100, 3), R.INSUFFICIENT_FUNDS),
    (market(50, BOB, SELL, qty=3), R.INSUFFICIENT_FUNDS),
    (market(50, ALICE, BUY, quote=801), R.INSUFFICIENT_FUNDS),
    (limit(50, BOB, SELL, 100, 1, post_only=True), R.POST_ONLY_WOULD_TAKE),
    (limit(50, BOB, SELL, 101, 1, TimeInForce.FOK), R.FOK_NOT_FILLABLE),
]


@pytest.mark.parametrize(("cmd", "reason"), CASES)
def test_place_order_is_rejected_with_reason_when_input_is_bad(
    cmd: PlaceOrder, reason: RejectReason
) -> None:
    engine = _engine()
    events = run(engine, cmd)
    assert kinds(events) == ["OrderRejected"]
    rejected = only(events, OrderRejected)[0]
    assert rejected.reason is reason
    assert (rejected.order_id, rejected.account, rejected.side) == (cmd.order_id, cmd.account,
                                                                     cmd.side)  # fmt: skip


@pytest.mark.parametrize(("cmd", "reason"), CASES)
def test_rejected_order_leaves_no_trace_when_refused(cmd: PlaceOrder, reason: RejectReason) -> None:
    engine = _engine()
    before = snapshot.dump(engine)
    run(engine, cmd)
    after = snapshot.dump(engine)
    assert after.pop("seq") == before.pop("seq") + 1
    assert after == before


def test_first_failing_check_wins_when_several_apply() -> None:
    engine = _engine()
    run(engine, set_status(MarketStatus.HALTED))
    # halted beats duplicate id, bad price and no funds
    events = run(engine, _raw(order_id=1, price=0, quantity=10**6))
    assert events[0].reason is R.MARKET_HALTED  # type: ignore[union-attr]
    run(engine, set_status(MarketStatus.TRADING))
    assert run(engine, _raw(order_id=1, price=0))[0].reason is R.DUPLICATE_ORDER_ID  # type: ignore[union-attr]
    assert run(engine, _raw(price=None, quantity=0))[0].reason is R.INVALID_ORDER  # type: ignore[union-attr]
    assert run(engine, _raw(price=0, quantity=0))[0].reason is R.INVALID_PRICE  # type: ignore[union-attr]
    assert run(engine, _raw(quantity=10**6))[0].reason is R.INSUFFICIENT_FUNDS  # type: ignore[union-attr]


def test_client_order_id_stays_taken_when_its_order_is_closed() -> None:
    engine = _engine()
    run(engine, cancel(ALICE, 1))
    events = run(engine, limit(2, ALICE, BUY, 100, 1, client_order_id="used"))
    assert events[0].reason is R.DUPLICATE_CLIENT_ORDER_ID  # type: ignore[union-attr]
    # ... but only for Alice: client ids are per account
    assert kinds(run(engine, limit(3, BOB, SELL, 200, 1, client_order_id="used")))[0] == (
        "OrderAccepted"
    )


def test_order_id_stays_taken_when_its_order_is_closed() -> None:
    engine = _engine()
    run(engine, cancel(ALICE, 1))
    events = run(engine, limit(1, BOB, SELL, 200, 1))
    assert events[0].reason is R.DUPLICATE_ORDER_ID  # type: ignore[union-attr]


def test_rejected_order_does_not_consume_its_ids_when_resubmitted() -> None:
    engine = _engine()
    run(engine, limit(7, ALICE, BUY, 100, 50, client_order_id="retry"))  # no funds
    events = run(engine, limit(7, ALICE, BUY, 100, 5, client_order_id="retry"))
    assert kinds(events)[0] == "OrderAccepted"


def test_rejection_echoes_the_order_when_persisted() -> None:
    engine = _engine()
    cmd = market(9, ALICE, BUY, quote=5_000, client_order_id="big")
    rejected = only(run(engine, cmd), OrderRejected)[0]
    echoed = (rejected.type, rejected.quote_quantity, rejected.client_order_id, rejected.stp_mode)
    assert echoed == (OrderType.MARKET, 5_000, "big", StpMode.EXPIRE_TAKER)


def test_an_order_refused_for_funds_creates_no_balance_when_the_account_has_none_of_the_asset() -> (
    None
):
    # given Alice, who has USD and no BTC at all
    engine = _engine()
    before = engine.balances(ALICE)

    # when she sells BTC she does not have
    events = run(engine, limit(2, ALICE, SELL, 100, 1))

    # then the order is refused and no (empty) BTC balance appears: views and totals unchanged
    assert only(events, OrderRejected)[0].reason is R.INSUFFICIENT_FUNDS
    assert engine.balances(ALICE) == before and BTC not in before
