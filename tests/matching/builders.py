"""Command builders and small helpers for the engine tests (pure: no Django, no database).

The standard market ``BTC-USD``: base BTC (8 decimals), quote USD (2 decimals), tick 1 USD,
lot 0.01 BTC. So one tick x one lot is exactly 1 quote atom (1 cent): the notional of an order
in quote atoms is ``price_ticks * lots``, and one lot is 1,000,000 BTC atoms.
Fees: maker 0.1 % (1000 ppm), taker 0.2 % (2000 ppm); minimum notional 1.00 USD (100 atoms).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TypeVar

from matching.commands import (
    AddMarket,
    AmendOrder,
    CancelAll,
    CancelOrder,
    CancelOrderList,
    Command,
    Deposit,
    PlaceOrder,
    PlaceOrderList,
    ReleaseWithdrawal,
    ReportTotals,
    SetMarketStatus,
    SettleWithdrawal,
    Tick,
    UpdateMarket,
    Withdraw,
)
from matching.engine import MatchingEngine
from matching.events import BalanceChanged, BookChanged, Event
from matching.types import (
    AssetSpec,
    MarketSpec,
    MarketStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)

SYM = "BTC-USD"
BTC = "BTC"
USD = "USD"
LOT = 1_000_000  # BTC atoms per lot
FEE_ACCOUNT = 999
ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4

SPEC = MarketSpec(
    symbol=SYM,
    base=AssetSpec(BTC, 8),
    quote=AssetSpec(USD, 2),
    tick_size=Decimal("1"),
    lot_size=Decimal("0.01"),
    min_notional=Decimal("1.00"),
    maker_fee_rate=Decimal("0.001"),
    taker_fee_rate=Decimal("0.002"),
)

_ids = itertools.count(1)
E = TypeVar("E", bound=Event)


def cid() -> str:
    return f"c{next(_ids)}"


def add_market(spec: MarketSpec = SPEC) -> AddMarket:
    return AddMarket(cid(), 1, spec)


def update_market(spec: MarketSpec) -> UpdateMarket:
    return UpdateMarket(cid(), 1, spec)


def set_status(status: MarketStatus, symbol: str = SYM) -> SetMarketStatus:
    return SetMarketStatus(cid(), 1, symbol, status)


def deposit(account: int, asset: str, amount: int, transfer_id: str | None = None) -> Deposit:
    return Deposit(cid(), 1, transfer_id or f"dep-{next(_ids)}", account, asset, amount)


def withdraw(transfer_id: str, account: int, asset: str, amount: int, fee: int = 0) -> Withdraw:
    return Withdraw(cid(), 1, transfer_id, account, asset, amount, fee)


def report_totals() -> ReportTotals:
    return ReportTotals(cid(), 1)


def settle(transfer_id: str) -> SettleWithdrawal:
    return SettleWithdrawal(cid(), 1, transfer_id)


def release(transfer_id: str) -> ReleaseWithdrawal:
    return ReleaseWithdrawal(cid(), 1, transfer_id)


def limit(
    order_id: int,
    account: int,
    side: Side,
    price: int,
    qty: int,
    tif: TimeInForce = TimeInForce.GTC,
    *,
    post_only: bool = False,
    stp: StpMode = StpMode.EXPIRE_TAKER,
    client_order_id: str | None = None,
    symbol: str = SYM,
    iceberg: int | None = None,
    expire_time: int | None = None,
    ts: int = 1,
) -> PlaceOrder:
    """A limit order; ``iceberg``: its iceberg_quantity; ``expire_time`` (ms): with GTD."""
    return PlaceOrder(
        cid(),
        ts,
        order_id,
        account,
        symbol,
        side,
        OrderType.LIMIT,
        tif,
        price,
        qty,
        None,
        post_only,
        stp,
        client_order_id,
        iceberg_quantity=iceberg,
        expire_time=expire_time,
    )


def market(
    order_id: int,
    account: int,
    side: Side,
    qty: int | None = None,
    quote: int | None = None,
    *,
    stp: StpMode = StpMode.EXPIRE_TAKER,
    client_order_id: str | None = None,
    symbol: str = SYM,
) -> PlaceOrder:
    return PlaceOrder(
        cid(),
        1,
        order_id,
        account,
        symbol,
        side,
        OrderType.MARKET,
        TimeInForce.IOC,
        None,
        qty,
        quote,
        False,
        stp,
        client_order_id,
    )


def tick(ts: int) -> Tick:
    """The matcher's clock at ``ts`` ns: expires the GTD orders due by then."""
    return Tick(cid(), ts)


def conditional(
    order_id: int,
    account: int,
    side: Side,
    order_type: OrderType,
    stop_price: int | None,
    qty: int | None = None,
    price: int | None = None,
    *,
    quote: int | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    trailing_delta: int | None = None,
    post_only: bool = False,
    stp: StpMode = StpMode.EXPIRE_TAKER,
    client_order_id: str | None = None,
    symbol: str = SYM,
) -> PlaceOrder:
    """A stop / take-profit order (``price`` only for the ``*_limit`` variants)."""
    return PlaceOrder(
        cid(),
        1,
        order_id,
        account,
        symbol,
        side,
        order_type,
        tif,
        price,
        qty,
        quote,
        post_only,
        stp,
        client_order_id,
        stop_price,
        trailing_delta,
    )


def oco(
    list_id: int,
    account: int,
    side: Side,
    qty: int,
    price: int,
    stop_price: int,
    stop_limit_price: int | None = None,
    *,
    limit_order_id: int | None = None,
    stop_order_id: int | None = None,
    stop_tif: TimeInForce = TimeInForce.GTC,
    client_list_id: str | None = None,
    limit_client_order_id: str | None = None,
    stop_client_order_id: str | None = None,
    stp: StpMode = StpMode.EXPIRE_TAKER,
    symbol: str = SYM,
) -> PlaceOrderList:
    """An OCO; its legs' ids default to ``list_id * 10 + 1`` (limit) and ``+ 2`` (stop)."""
    return PlaceOrderList(
        cid(),
        1,
        list_id,
        account,
        symbol,
        side,
        qty,
        price,
        stop_price,
        stop_limit_price,
        stop_tif,
        list_id * 10 + 1 if limit_order_id is None else limit_order_id,
        list_id * 10 + 2 if stop_order_id is None else stop_order_id,
        client_list_id,
        limit_client_order_id,
        stop_client_order_id,
        stp,
    )


def cancel_list(
    account: int,
    list_id: int | None = None,
    client_list_id: str | None = None,
    symbol: str = SYM,
) -> CancelOrderList:
    return CancelOrderList(cid(), 1, account, symbol, list_id, client_list_id)


def cancel(
    account: int,
    order_id: int | None = None,
    client_order_id: str | None = None,
    symbol: str = SYM,
) -> CancelOrder:
    return CancelOrder(cid(), 1, account, symbol, order_id, client_order_id)


def cancel_all(account: int, symbol: str | None = None) -> CancelAll:
    return CancelAll(cid(), 1, account, symbol)


def amend(
    account: int,
    order_id: int,
    price: int | None = None,
    qty: int | None = None,
    symbol: str = SYM,
) -> AmendOrder:
    return AmendOrder(cid(), 1, account, symbol, order_id, None, price, qty)


def new_engine(*funded: tuple[int, str, int], spec: MarketSpec = SPEC) -> MatchingEngine:
    """An engine with BTC-USD and the given ``(account, asset, atoms)`` deposits."""
    engine = MatchingEngine(FEE_ACCOUNT)
    engine.apply(add_market(spec))
    for account, asset, amount in funded:
        engine.apply(deposit(account, asset, amount))
    return engine


def run(engine: MatchingEngine, cmd: Command) -> list[Event]:
    """Apply ``cmd`` and check every engine invariant afterwards."""
    events = engine.apply(cmd)
    engine.validate()
    return events


def only(events: list[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def moves(events: list[Event]) -> list[tuple[int, str, int, int, str]]:
    """Balance movements as ``(account, asset, delta_available, delta_locked, reason)``."""
    return [
        (e.account, e.asset, e.delta_available, e.delta_locked, e.reason.value)
        for e in only(events, BalanceChanged)
    ]


def book_changes(events: list[Event]) -> list[tuple[tuple[tuple[int, int], ...], ...]]:
    return [(e.bids, e.asks) for e in only(events, BookChanged)]
