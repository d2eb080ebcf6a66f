"""Bounded money: no amount the engine holds or emits can outgrow a NUMERIC(38, 18) column.

The market ``XB_XQ`` has 0-decimal assets and a tick and a lot of 1,000, so its bounds bite
well before the engine's own limits (2**62 ticks or lots): a price or a quantity is at most
``10**19 - 1`` units, i.e. 9,999,999,999,999,999 ticks or lots, and a notional at most
``10**19 - 1`` quote units.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.arith import (
    BOUND,
    MAX_PRICE_TICKS,
    OffGrid,
    amount_to_atoms,
    compile_market,
    max_balance_atoms,
    price_to_ticks,
    quantity_to_lots,
)
from matching.commands import Command, Deposit
from matching.engine import MatchingEngine
from matching.errors import RejectReason
from matching.events import (
    BalanceChanged,
    CommandRejected,
    Event,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    TradeExecuted,
    TransferApplied,
    TransferRejected,
)
from matching.types import AssetSpec, MarketSpec, Side
from tests.matching.builders import (
    ALICE,
    BOB,
    CAROL,
    FEE_ACCOUNT,
    SPEC,
    add_market,
    amend,
    cancel,
    cid,
    deposit,
    limit,
    market,
    run,
    settle,
    withdraw,
)

XS = "XB_XQ"
BIG = MarketSpec(
    symbol=XS,
    base=AssetSpec("XB", 0),
    quote=AssetSpec("XQ", 0),
    tick_size=Decimal("1000"),
    lot_size=Decimal("1000"),
    min_notional=Decimal("1000000"),
    maker_fee_rate=Decimal("0.001"),
    taker_fee_rate=Decimal("0.002"),
)
UNITS = compile_market(BIG)
MAX = max_balance_atoms(0)  # 10**19 - 1 units of XB or XQ
STORED = 10**20  # what a NUMERIC(38, 18) column holds: below 10**20 units


def big_engine(*funded: tuple[int, str, int]) -> MatchingEngine:
    engine = MatchingEngine(FEE_ACCOUNT)
    engine.apply(add_market(BIG))
    for account, asset, amount in funded:
        run(engine, deposit(account, asset, amount))
    return engine


def rejected_reason(events: list[Event]) -> str:
    (ev,) = events
    assert isinstance(ev, OrderRejected | CommandRejected | TransferRejected)
    return str(ev.reason)


def test_the_market_bounds_are_derived_from_the_column_and_the_decimals() -> None:
    assert MAX == 9_999_999_999_999_999_999
    assert UNITS.max_price_ticks == UNITS.max_lots == 9_999_999_999_999_999
    assert UNITS.max_notional_atoms == MAX
    # the standard BTC-USD market (8 and 2 decimals): the engine's own 2**62 ticks bite first
    units = compile_market(SPEC)
    assert units.max_price_ticks == MAX_PRICE_TICKS
    assert units.max_notional_atoms == max_balance_atoms(2) == 10**21 - 1


@settings(max_examples=60)
@given(parts=st.lists(st.integers(1, MAX), min_size=1, max_size=5))
def test_deposits_are_credited_up_to_the_maximum_balance_and_refused_beyond_it(
    parts: list[int],
) -> None:
    # given deposits of XQ split among accounts, each credited while the total stays in bounds
    engine = big_engine()
    held = 0
    for i, amount in enumerate(parts):
        before = [engine.balance(a, "XQ") for a in (1, 2, 3)]
        events = run(engine, deposit(1 + i % 3, "XQ", amount))
        if held + amount <= MAX:
            assert isinstance(events[0], TransferApplied)
            held += amount
        else:
            # then one that would take the total past it is refused, and nothing changed
            assert rejected_reason(events) == RejectReason.BALANCE_LIMIT_EXCEEDED
            assert [engine.balance(a, "XQ") for a in (1, 2, 3)] == before
            assert engine.balances_book.deposited["XQ"] == held
    # and topping up to exactly the maximum works, one atom more never does
    if held < MAX:
        assert isinstance(run(engine, deposit(ALICE, "XQ", MAX - held))[0], TransferApplied)
    refused = run(engine, deposit(BOB, "XQ", 1))
    assert rejected_reason(refused) == RejectReason.BALANCE_LIMIT_EXCEEDED
    assert sum(sum(engine.balance(a, "XQ")) for a in (1, 2, 3)) == MAX


def test_a_withdrawal_that_settled_makes_room_for_new_deposits() -> None:
    engine = big_engine((ALICE, "XQ", MAX))
    run(engine, withdraw("w1", ALICE, "XQ", 5))
    assert rejected_reason(run(engine, deposit(BOB, "XQ", 1))) == "balance_limit_exceeded"
    run(engine, settle("w1"))  # the held amount left the venue

    assert isinstance(run(engine, deposit(BOB, "XQ", 5))[0], TransferApplied)


@pytest.mark.parametrize(
    ("decimals", "amount", "reason"),
    [
        (0, MAX + 1, "invalid_amount"),  # above the largest single transfer
        (3, 5, "invalid_amount"),  # the market says XQ has 0 decimals
        (-1, 5, "invalid_amount"),
    ],
)
def test_a_deposit_is_refused_when_its_amount_or_decimals_are_wrong(
    decimals: int, amount: int, reason: str
) -> None:
    engine = big_engine()
    events = run(engine, Deposit(cid(), 1, "t1", ALICE, "XQ", amount, decimals))

    assert rejected_reason(events) == reason
    assert engine.balance(ALICE, "XQ") == (0, 0)
    assert "t1" not in engine.balances_book.transfers


def test_a_deposit_of_an_asset_no_market_has_is_bounded_by_the_decimals_it_gives() -> None:
    engine = big_engine()
    # an asset no market trades: without decimals the bound is unknown, so it is refused
    assert rejected_reason(run(engine, deposit(ALICE, "ZZ", 1))) == "invalid_amount"
    # with its decimals (what every sender passes) it is bounded by them
    limit18 = max_balance_atoms(18)
    ok = run(engine, Deposit(cid(), 1, "t2", ALICE, "ZZ", limit18, 18))
    assert isinstance(ok[0], TransferApplied)
    over = run(engine, Deposit(cid(), 1, "t3", BOB, "ZZ", 1, 18))
    assert rejected_reason(over) == "balance_limit_exceeded"


def test_orders_are_refused_beyond_the_price_quantity_and_notional_bounds() -> None:
    engine = big_engine((ALICE, "XB", MAX), (BOB, "XQ", MAX))
    top, lots = UNITS.max_price_ticks, UNITS.max_lots
    before = engine.balances(ALICE), engine.balances(BOB)

    cases = [
        (limit(1, ALICE, Side.SELL, top + 1, 1, symbol=XS), "invalid_price"),
        (limit(2, ALICE, Side.SELL, 1000, lots + 1, symbol=XS), "invalid_quantity"),
        # price and quantity each in bounds, their product not: the sell's filled_quote would be
        (limit(3, ALICE, Side.SELL, top, 2, symbol=XS), "above_max_notional"),
        (limit(4, BOB, Side.BUY, top, 2, symbol=XS), "above_max_notional"),
        (market(5, ALICE, Side.SELL, qty=lots + 1, symbol=XS), "invalid_quantity"),
        (market(6, BOB, Side.BUY, quote=MAX + 1, symbol=XS), "invalid_quantity"),
    ]
    for cmd, reason in cases:
        assert rejected_reason(run(engine, cmd)) == reason, cmd
    assert (engine.balances(ALICE), engine.balances(BOB)) == before
    assert not engine.open_orders_by_id

    # at the notional bound exactly a sell is accepted (and rests), one tick more is not
    top_for_one_lot = MAX // UNITS.notional_atoms_per_tick_lot
    over = run(engine, limit(7, ALICE, Side.SELL, top_for_one_lot + 1, 1, symbol=XS))
    assert rejected_reason(over) == "above_max_notional"
    ok = run(engine, limit(8, ALICE, Side.SELL, top_for_one_lot, 1, symbol=XS))
    assert not isinstance(ok[0], OrderRejected)
    assert engine.order(8) is not None


def test_an_amend_beyond_the_bounds_is_refused() -> None:
    engine = big_engine((ALICE, "XB", MAX))
    run(engine, limit(1, ALICE, Side.SELL, 1000, 10, symbol=XS))

    assert rejected_reason(
        run(engine, amend(ALICE, 1, price=UNITS.max_price_ticks + 1, symbol=XS))
    ) == ("invalid_price")
    assert rejected_reason(run(engine, amend(ALICE, 1, qty=UNITS.max_lots + 1, symbol=XS))) == (
        "invalid_quantity"
    )
    assert rejected_reason(
        run(engine, amend(ALICE, 1, price=UNITS.max_price_ticks, symbol=XS))
    ) == ("above_max_notional")


def test_the_api_conversions_refuse_what_the_engine_would() -> None:
    # the web side converts decimals with the same bound: out_of_range, before anything is sent
    for convert, value in (
        (lambda v: price_to_ticks(BIG, v), BOUND),
        (lambda v: quantity_to_lots(BIG, v), BOUND),
        (lambda v: amount_to_atoms(18, v), BOUND),
    ):
        with pytest.raises(OffGrid) as refused:
            convert(value)
        assert refused.value.code == "out_of_range"
    assert price_to_ticks(BIG, BOUND - 1000) == UNITS.max_price_ticks
    assert amount_to_atoms(0, BOUND - 1) == MAX


# --- the property: whatever happens, every amount stays storable ---------------------------------

_amount = st.one_of(st.integers(1, 10**6), st.integers(MAX - 10**6, MAX), st.just(MAX))
_ticks = st.one_of(  # mostly a narrow band, so that orders cross
    st.integers(1, 20), st.integers(UNITS.max_price_ticks - 10, UNITS.max_price_ticks + 2)
)
_lots = st.one_of(
    st.integers(1, 10**4),
    st.integers(10**11, 10**12),  # notionals near the bound at the band's prices
    st.integers(UNITS.max_lots - 10, UNITS.max_lots + 2),
)
_account = st.sampled_from([ALICE, BOB, CAROL])
_side = st.sampled_from([Side.BUY, Side.SELL])


@st.composite
def command_near_the_bounds(draw: st.DrawFn, order_id: int) -> Command:
    kind = draw(st.sampled_from(["deposit", "limit", "limit", "market", "cancel", "withdraw"]))
    account = draw(_account)
    if kind == "deposit":
        return deposit(account, draw(st.sampled_from(["XB", "XQ"])), draw(_amount))
    if kind == "limit":
        return limit(order_id, account, draw(_side), draw(_ticks), draw(_lots), symbol=XS)
    if kind == "market":
        side = draw(_side)
        if side is Side.BUY and draw(st.booleans()):
            return market(order_id, account, side, quote=draw(_amount), symbol=XS)
        return market(order_id, account, side, qty=draw(_lots), symbol=XS)
    if kind == "cancel":
        return cancel(account, draw(st.integers(1, order_id)), symbol=XS)
    return withdraw(f"w{order_id}", account, draw(st.sampled_from(["XB", "XQ"])), draw(_amount))


def _storable(atoms: int) -> bool:
    return -STORED < atoms < STORED  # 0 decimals: atoms are units


FUNDED = [(a, asset, MAX // 4) for a in (ALICE, BOB, CAROL) for asset in ("XB", "XQ")]
"""Three quarters of the bound each, so trades happen and deposits still reach the bound."""


def check_storable(ev: Event) -> None:
    if isinstance(ev, BalanceChanged):
        assert 0 <= ev.available <= MAX and 0 <= ev.locked <= MAX, ev
        assert _storable(ev.delta_available) and _storable(ev.delta_locked), ev
    elif isinstance(ev, TradeExecuted):
        # price and quantity as stored: ticks x 1000 and lots x 1000 units
        assert ev.price * 1000 <= MAX and ev.quantity * 1000 <= MAX, ev
        for amount in (ev.quote_amount, ev.maker_fee, ev.taker_fee):
            assert 0 <= amount <= MAX, ev
        assert _storable(ev.maker_filled_quote) and _storable(ev.taker_filled_quote), ev
    elif isinstance(ev, OrderFilled | OrderCancelled | OrderExpired):
        assert _storable(ev.filled_quote) and ev.filled_quantity * 1000 <= MAX, ev


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_amount_stays_storable_whatever_the_commands(data: st.DataObject) -> None:
    engine = big_engine(*FUNDED)
    for order_id in range(1, 40):
        cmd = data.draw(command_near_the_bounds(order_id))
        for ev in run(engine, cmd):  # run() also checks every engine invariant
            check_storable(ev)
        held = {
            asset: engine.balances_book.deposited.get(asset, 0)
            - engine.balances_book.withdrawn.get(asset, 0)
            for asset in ("XB", "XQ")
        }
        assert all(0 <= total <= MAX for total in held.values())
        for o in engine.open_orders_by_id.values():
            assert o.price * 1000 <= MAX and o.quantity * 1000 <= MAX
            assert _storable(o.filled_quote)
