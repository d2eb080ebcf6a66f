"""Random command streams for the property tests: hypothesis strategies and seeded generators.

Prices stay in a narrow band (95..105 ticks) and quantities small so orders cross, rest,
partially fill and self-trade often. Several accounts, all on BTC-USD.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from hypothesis import strategies as st

from matching.commands import (
    AmendOrder,
    CancelAll,
    CancelOrder,
    CancelOrderList,
    Command,
    Deposit,
    PlaceOrder,
    PlaceOrderList,
    ReleaseWithdrawal,
    SetMarketStatus,
    SettleWithdrawal,
    Tick,
    Withdraw,
)
from matching.types import MarketStatus, OrderType, Side, StpMode, TimeInForce
from tests.matching.builders import BTC, LOT, SPEC, SYM, USD

LOW_MIN_SPEC = replace(SPEC, min_notional=Decimal("0.01"))
"""BTC-USD with a 1-atom minimum notional, so that small random orders are not all refused."""

ACCOUNTS = (1, 2, 3, 4)
PRICES = st.integers(95, 105)
QTYS = st.integers(1, 12)
SIDES = st.sampled_from(list(Side))
TIFS = st.sampled_from(list(TimeInForce))
STPS = st.sampled_from(list(StpMode))
ACCTS = st.sampled_from(ACCOUNTS)
ORDER_IDS = st.integers(1, 400)
CIDS = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
TRANSFER_IDS = st.sampled_from([f"t{i}" for i in range(12)])
ASSETS = st.sampled_from([BTC, USD])


def _amount(asset: str) -> st.SearchStrategy[int]:
    return st.integers(1, 30 * LOT) if asset == BTC else st.integers(1, 5_000)


deposits = ASSETS.flatmap(
    lambda a: st.builds(
        Deposit, st.just("d"), st.just(1), TRANSFER_IDS, ACCTS, st.just(a), _amount(a)
    )
)
withdrawals = ASSETS.flatmap(
    lambda a: st.builds(
        Withdraw,
        st.just("w"),
        st.just(1),
        TRANSFER_IDS,
        ACCTS,
        st.just(a),
        _amount(a),
        st.one_of(st.just(0), st.integers(1, 50)),
    )
)
limits = st.builds(
    PlaceOrder,
    st.just("p"),
    st.just(1),
    ORDER_IDS,
    ACCTS,
    st.just(SYM),
    SIDES,
    st.just(OrderType.LIMIT),
    TIFS,
    PRICES,
    QTYS,
    st.none(),
    st.booleans(),
    STPS,
    CIDS,
)
market_orders = st.one_of(
    st.builds(
        PlaceOrder,
        st.just("m"),
        st.just(1),
        ORDER_IDS,
        ACCTS,
        st.just(SYM),
        SIDES,
        st.just(OrderType.MARKET),
        st.just(TimeInForce.IOC),
        st.none(),
        QTYS,
        st.none(),
        st.just(False),
        STPS,
        CIDS,
    ),
    st.builds(
        PlaceOrder,
        st.just("q"),
        st.just(1),
        ORDER_IDS,
        ACCTS,
        st.just(SYM),
        st.just(Side.BUY),
        st.just(OrderType.MARKET),
        st.just(TimeInForce.IOC),
        st.none(),
        st.none(),
        st.integers(100, 3_000),
        st.just(False),
        STPS,
        CIDS,
    ),
)
cancels = st.builds(
    CancelOrder, st.just("x"), st.just(1), ACCTS, st.just(SYM), ORDER_IDS, st.none()
)
cancel_by_cid = st.builds(
    CancelOrder,
    st.just("y"),
    st.just(1),
    ACCTS,
    st.just(SYM),
    st.none(),
    st.sampled_from(["a", "b", "c", "d"]),
)
cancel_alls = st.builds(
    CancelAll, st.just("X"), st.just(1), ACCTS, st.one_of(st.none(), st.just(SYM))
)
amends = st.builds(
    AmendOrder,
    st.just("A"),
    st.just(1),
    ACCTS,
    st.just(SYM),
    ORDER_IDS,
    st.none(),
    st.one_of(st.none(), PRICES),
    st.one_of(st.none(), st.integers(1, 15)),
)
settles = st.builds(SettleWithdrawal, st.just("s"), st.just(1), TRANSFER_IDS)
releases = st.builds(ReleaseWithdrawal, st.just("r"), st.just(1), TRANSFER_IDS)
statuses = st.builds(
    SetMarketStatus, st.just("h"), st.just(1), st.just(SYM), st.sampled_from(list(MarketStatus))
)

# Icebergs and GTD orders (docs/order-types.md). Every command above has ts 1 (ns), so any
# expire time of 1 ms or more is valid, and a Tick's ts decides which of them are due: ticks
# land on, one ns before and one ns after whole milliseconds, where the expiries are.
MS = 1_000_000
EXPIRE_MS = st.integers(1, 12)
icebergs = st.builds(
    lambda cmd, display: cmd._replace(iceberg_quantity=display), limits, st.integers(1, 8)
)
gtd_limits = st.builds(
    lambda cmd, expire_ms, display: cmd._replace(
        time_in_force=TimeInForce.GTD, expire_time=expire_ms, iceberg_quantity=display
    ),
    limits,
    st.one_of(EXPIRE_MS, st.sampled_from([None, 0])),  # some refused: no or a past expiry
    st.one_of(st.none(), st.none(), st.integers(1, 8)),
)
ticks = st.builds(
    lambda ms, nudge: Tick("k", ms * MS + nudge),
    st.integers(0, 13),
    st.sampled_from([-1, 0, 0, 1]),
)
iceberg_and_gtd_commands = st.one_of(icebergs, gtd_limits, gtd_limits, ticks)
CONDITIONAL_TYPES = (
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
    OrderType.TAKE_PROFIT_MARKET,
    OrderType.TAKE_PROFIT_LIMIT,
)
LIST_IDS = st.integers(1, 40)
CLIENT_LIST_IDS = st.one_of(st.none(), st.sampled_from(["L1", "L2"]))


@st.composite
def _conditional_order(draw: st.DrawFn) -> PlaceOrder:
    """A stop / take-profit order, mostly well formed (a trailing stop one time in four)."""
    order_type = draw(st.sampled_from(CONDITIONAL_TYPES))
    side = draw(SIDES)
    is_limit = order_type in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
    is_stop = order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    trailing = is_stop and draw(st.integers(0, 3)) == 0
    qty: int | None = draw(QTYS)
    quote = None
    if not is_limit and side is Side.BUY and draw(st.booleans()):
        qty, quote = None, draw(st.integers(100, 3_000))
    tif = draw(
        st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD])
    )
    return PlaceOrder(
        "k",
        1,
        draw(ORDER_IDS),
        draw(ACCTS),
        SYM,
        side,
        order_type,
        tif,
        draw(PRICES) if is_limit else None,
        qty,
        quote,
        False,
        draw(STPS),
        draw(CIDS),
        None if trailing else draw(PRICES),
        draw(st.sampled_from([10, 50, 200, 2_000])) if trailing else None,
        # a GTD one expires, untriggered or resting, at a Tick; a limit variant may be an
        # iceberg (some of these are refused: an IOC iceberg, a slice not below the quantity)
        draw(st.one_of(st.none(), st.none(), st.integers(1, 8))) if is_limit else None,
        draw(EXPIRE_MS) if tif is TimeInForce.GTD else None,
    )


conditional_orders = _conditional_order()


@st.composite
def _order_list(draw: st.DrawFn) -> PlaceOrderList:
    """An OCO; its prices are drawn freely, so about half are refused."""
    return PlaceOrderList(
        "o",
        1,
        draw(LIST_IDS),
        draw(ACCTS),
        SYM,
        draw(SIDES),
        draw(QTYS),
        draw(PRICES),
        draw(PRICES),
        draw(st.one_of(st.none(), PRICES)),
        draw(st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])),
        draw(ORDER_IDS),
        draw(ORDER_IDS),
        draw(CLIENT_LIST_IDS),
        draw(CIDS),
        draw(CIDS),
        draw(STPS),
    )


order_lists = _order_list()
cancel_lists = st.builds(
    CancelOrderList,
    st.just("z"),
    st.just(1),
    ACCTS,
    st.just(SYM),
    st.one_of(st.none(), LIST_IDS),
    CLIENT_LIST_IDS,
)

commands: st.SearchStrategy[Command] = st.one_of(
    limits,
    limits,
    limits,
    limits,
    limits,
    market_orders,
    market_orders,
    cancels,
    cancel_by_cid,
    cancel_alls,
    amends,
    amends,
    iceberg_and_gtd_commands,
    iceberg_and_gtd_commands,
    deposits,
    withdrawals,
    settles,
    releases,
    conditional_orders,
    conditional_orders,
    conditional_orders,
    order_lists,
    order_lists,
    cancel_lists,
)
"""Everything but market halts (the state machine interleaves those in their own rule)."""


def funding(accounts: tuple[int, ...] = ACCOUNTS) -> list[Command]:
    """Generous deposits, except for the last account, which runs short often."""
    out: list[Command] = []
    for a in accounts:
        rich = a != accounts[-1]
        out.append(Deposit("f", 1, f"fund-btc-{a}", a, BTC, (200 if rich else 8) * LOT))
        out.append(Deposit("f", 1, f"fund-usd-{a}", a, USD, 200_000 if rich else 2_000))
    return out


def seed_book() -> list[Command]:
    """A few resting orders per account on both sides (ids 900+), so takers find liquidity."""
    out: list[Command] = []
    oid = 900
    for a in ACCOUNTS:
        for price in (96, 98, 99):
            oid += 1
            out.append(
                PlaceOrder(
                    "sb",
                    1,
                    oid,
                    a,
                    SYM,
                    Side.BUY,
                    OrderType.LIMIT,
                    TimeInForce.GTC,
                    price,
                    3,
                    None,
                    False,
                    StpMode.EXPIRE_TAKER,
                    None,
                )
            )
        for price in (101, 102, 104):
            oid += 1
            out.append(
                PlaceOrder(
                    "sb",
                    1,
                    oid,
                    a,
                    SYM,
                    Side.SELL,
                    OrderType.LIMIT,
                    TimeInForce.GTC,
                    price,
                    3,
                    None,
                    False,
                    StpMode.EXPIRE_TAKER,
                    None,
                )
            )
    return out


def seeded_orders(seed: int, n: int, accounts: int = 6) -> list[Command]:
    """Seeded stream of limit GTC/IOC, market-by-quantity orders and cancels of live-ish ids."""
    rng = random.Random(seed)
    out: list[Command] = []
    oid = 0
    for i in range(n):
        r = rng.random()
        acct = rng.randint(1, accounts)
        stp = rng.choice([StpMode.EXPIRE_TAKER, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_BOTH])
        if r < 0.7:
            oid += 1
            side = rng.choice([Side.BUY, Side.SELL])
            tif = TimeInForce.GTC if rng.random() < 0.8 else TimeInForce.IOC
            out.append(
                PlaceOrder(
                    f"c{i}",
                    i,
                    oid,
                    acct,
                    SYM,
                    side,
                    OrderType.LIMIT,
                    tif,
                    rng.randint(90, 110),
                    rng.randint(1, 20),
                    None,
                    False,
                    stp,
                    None,
                )
            )
        elif r < 0.8:
            oid += 1
            side = rng.choice([Side.BUY, Side.SELL])
            out.append(
                PlaceOrder(
                    f"c{i}",
                    i,
                    oid,
                    acct,
                    SYM,
                    side,
                    OrderType.MARKET,
                    TimeInForce.IOC,
                    None,
                    rng.randint(1, 30),
                    None,
                    False,
                    stp,
                    None,
                )
            )
        elif oid:
            target = rng.randint(max(1, oid - 30), oid)
            out.append(CancelOrder(f"c{i}", i, acct, SYM, target, None))
    return out


def seeded_orders_with_options(seed: int, n: int, accounts: int = 6) -> list[Command]:
    """Seeded stream of limit GTC / GTD / IOC / FOK orders, icebergs (GTC and GTD), market
    orders by quantity, cancels of live-ish ids and Ticks, with time moving forward: every
    order is valid for a rich account (GTD expiries after the order's own time)."""
    rng = random.Random(seed)
    out: list[Command] = []
    oid = 0
    now_ms = 1
    for i in range(n):
        r = rng.random()
        acct = rng.randint(1, accounts)
        stp = rng.choice([StpMode.EXPIRE_TAKER, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_BOTH])
        side = rng.choice([Side.BUY, Side.SELL])
        ts = now_ms * MS
        if r < 0.6:
            oid += 1
            t = rng.random()
            tif = (
                TimeInForce.GTC
                if t < 0.45
                else TimeInForce.GTD
                if t < 0.75
                else TimeInForce.IOC
                if t < 0.9
                else TimeInForce.FOK
            )
            qty = rng.randint(1, 20)
            resting = tif is TimeInForce.GTC or tif is TimeInForce.GTD
            display = (
                rng.randint(1, qty - 1) if resting and qty > 1 and rng.random() < 0.4 else None
            )
            expire = now_ms + rng.randint(1, 40) if tif is TimeInForce.GTD else None
            out.append(
                PlaceOrder(
                    f"c{i}",
                    ts,
                    oid,
                    acct,
                    SYM,
                    side,
                    OrderType.LIMIT,
                    tif,
                    rng.randint(90, 110),
                    qty,
                    None,
                    False,
                    stp,
                    None,
                    iceberg_quantity=display,
                    expire_time=expire,
                )
            )
        elif r < 0.67:
            oid += 1
            out.append(
                PlaceOrder(
                    f"c{i}",
                    ts,
                    oid,
                    acct,
                    SYM,
                    side,
                    OrderType.MARKET,
                    TimeInForce.IOC,
                    None,
                    rng.randint(1, 30),
                    None,
                    False,
                    stp,
                    None,
                )
            )
        elif r < 0.92 and oid:
            target = rng.randint(max(1, oid - 30), oid)
            out.append(CancelOrder(f"c{i}", ts, acct, SYM, target, None))
        else:
            now_ms += rng.randint(1, 12)
            out.append(Tick(f"c{i}", now_ms * MS))

    return out


def seeded_conditional_orders(seed: int, n: int, accounts: int = 6) -> list[Command]:
    """:func:`seeded_orders` with stop and take-profit orders mixed in (limit variants GTC or
    IOC, market variants by quantity, a trailing stop one time in five), and cancels."""
    rng = random.Random(seed)
    out: list[Command] = []
    for i, cmd in enumerate(seeded_orders(seed, n, accounts)):
        out.append(cmd)
        if rng.random() < 0.25:
            side = rng.choice([Side.BUY, Side.SELL])
            order_type = rng.choice(CONDITIONAL_TYPES)
            is_limit = order_type in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
            trailing = (
                order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) and rng.random() < 0.2
            )
            out.append(
                PlaceOrder(
                    f"k{i}",
                    i,
                    1_000_000 + i,
                    rng.randint(1, accounts),
                    SYM,
                    side,
                    order_type,
                    TimeInForce.GTC if rng.random() < 0.8 else TimeInForce.IOC,
                    rng.randint(90, 110) if is_limit else None,
                    rng.randint(1, 20),
                    None,
                    False,
                    rng.choice([StpMode.EXPIRE_TAKER, StpMode.EXPIRE_MAKER, StpMode.EXPIRE_BOTH]),
                    None,
                    None if trailing else rng.randint(90, 110),
                    rng.choice([10, 100, 300]) if trailing else None,
                )
            )
        elif rng.random() < 0.05:
            target = 1_000_000 + rng.randint(max(0, i - 50), i)
            out.append(CancelOrder(f"x{i}", i, rng.randint(1, accounts), SYM, target, None))
    return out
