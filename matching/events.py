"""Events: what the engine did, in the past tense.

Every event starts with ``seq`` (strictly increasing per engine, never reused), ``command_id``
(the command that caused it) and ``ts`` (that command's timestamp, ns). The events of one
command are contiguous and in causal order. Amounts are integers (ticks, lots, atoms).
"""

from __future__ import annotations

from typing import NamedTuple

from matching.errors import EndReason, RejectReason
from matching.types import (
    BalanceReason,
    MarketSpec,
    MarketStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)


class MarketAdded(NamedTuple):
    seq: int
    command_id: str
    ts: int
    spec: MarketSpec


class MarketUpdated(NamedTuple):
    seq: int
    command_id: str
    ts: int
    spec: MarketSpec


class MarketStatusChanged(NamedTuple):
    seq: int
    command_id: str
    ts: int
    symbol: str
    status: MarketStatus


class CommandRejected(NamedTuple):
    """A non-order command was refused (unknown market, bad spec, unknown transfer, ...)."""

    seq: int
    command_id: str
    ts: int
    reason: RejectReason


class OrderAccepted(NamedTuple):
    """The order passed validation and its funds are held. Trades, if any, follow."""

    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: int | None
    quantity: int | None
    quote_quantity: int | None
    post_only: bool
    stp_mode: StpMode
    client_order_id: str | None
    stop_price: int | None
    trailing_delta: int | None
    iceberg_quantity: int | None
    expire_time: int | None
    list_id: int | None  # the OCO it is a leg of


class OrderRejected(NamedTuple):
    """The order was refused with no side effect.

    The trailing fields repeat the PlaceOrder so the rejected order can be recorded; for a
    rejected amend or cancel they describe nothing and are None/False.
    """

    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    client_order_id: str | None
    reason: RejectReason
    side: Side | None = None
    type: OrderType | None = None
    time_in_force: TimeInForce | None = None
    price: int | None = None
    quantity: int | None = None
    quote_quantity: int | None = None
    post_only: bool = False
    stp_mode: StpMode | None = None
    stop_price: int | None = None
    trailing_delta: int | None = None
    iceberg_quantity: int | None = None
    expire_time: int | None = None
    list_id: int | None = None


class OrderTriggered(NamedTuple):
    """A conditional order's trigger: the last trade price crossed its stop price. From this
    event on it is the market or limit order it names (``type``); its trades and outcome follow
    in the same command. ``stop_price`` is the one that fired (a trailing stop's, as trailed)."""

    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    type: OrderType  # what it became: limit or market
    trigger_price: int  # the last trade price that crossed
    stop_price: int


class OrderListAccepted(NamedTuple):
    """An OCO was accepted; each leg's ``OrderAccepted`` (with ``list_id``) and the hold follow."""

    seq: int
    command_id: str
    ts: int
    list_id: int
    account: int
    symbol: str
    client_list_id: str | None
    limit_order_id: int
    stop_order_id: int


class OrderListRejected(NamedTuple):
    """An OCO was refused with no side effect; its ids are not consumed."""

    seq: int
    command_id: str
    ts: int
    list_id: int
    account: int
    symbol: str
    client_list_id: str | None
    limit_order_id: int
    stop_order_id: int
    reason: RejectReason


class OrderListDone(NamedTuple):
    """Every leg of the list has ended (status ``all_done``)."""

    seq: int
    command_id: str
    ts: int
    list_id: int
    account: int
    symbol: str


class TradeExecuted(NamedTuple):
    """A fill at the maker's price. Fees are in the asset each side receives.

    ``maker_filled`` / ``taker_filled`` (lots) and ``maker_filled_quote`` /
    ``taker_filled_quote`` (quote atoms) are the orders' cumulative fills after this trade.
    """

    seq: int
    command_id: str
    ts: int
    symbol: str
    trade_id: int
    price: int
    quantity: int
    quote_amount: int
    taker_side: Side
    maker_order_id: int
    taker_order_id: int
    maker_account: int
    taker_account: int
    maker_fee: int
    maker_fee_asset: str
    taker_fee: int
    taker_fee_asset: str
    maker_filled: int
    maker_filled_quote: int
    taker_filled: int
    taker_filled_quote: int


class OrderFilled(NamedTuple):
    """The order is completely filled and left the book."""

    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    filled_quantity: int
    filled_quote: int


class OrderCancelled(NamedTuple):
    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    reason: EndReason
    filled_quantity: int
    filled_quote: int


class OrderExpired(NamedTuple):
    """The order ended by its own terms (IOC/FOK/market remainder, STP, funds)."""

    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    reason: EndReason
    filled_quantity: int
    filled_quote: int


class OrderAmended(NamedTuple):
    seq: int
    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    price: int
    quantity: int
    kept_priority: bool


class BalanceChanged(NamedTuple):
    """One movement of one balance; ``available``/``locked`` are the values after it.

    ``(account, asset, reason, cause)`` is unique over the engine's life, so the persister's
    ledger can refuse a second insert.
    """

    seq: int
    command_id: str
    ts: int
    account: int
    asset: str
    available: int
    locked: int
    delta_available: int
    delta_locked: int
    reason: BalanceReason
    cause: str


class BookChanged(NamedTuple):
    """The levels one command changed in one market: ``(price, new total lots)``, 0 = removed.

    ``update_id`` increases by exactly one per BookChanged of that market, so a depth feed can
    detect gaps.
    """

    seq: int
    command_id: str
    ts: int
    symbol: str
    update_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


class TransferApplied(NamedTuple):
    """A deposit, withdrawal hold, settlement or release took effect (balances follow)."""

    seq: int
    command_id: str
    ts: int
    transfer_id: str
    kind: str  # "deposit" | "withdraw" | "settle" | "release"
    account: int
    asset: str
    amount: int


class TotalsReported(NamedTuple):
    """The answer to ReportTotals: per asset (sorted), ``(asset, sum of available, sum of
    locked, deposited, withdrawn)`` over every account, the fee account included, as of this
    event's ``seq``. The engine's invariant makes available + locked = deposited - withdrawn."""

    seq: int
    command_id: str
    ts: int
    totals: tuple[tuple[str, int, int, int, int], ...]


class TransferRejected(NamedTuple):
    seq: int
    command_id: str
    ts: int
    transfer_id: str
    reason: RejectReason


Event = (
    MarketAdded
    | MarketUpdated
    | MarketStatusChanged
    | CommandRejected
    | OrderAccepted
    | OrderRejected
    | TradeExecuted
    | OrderFilled
    | OrderCancelled
    | OrderExpired
    | OrderAmended
    | BalanceChanged
    | BookChanged
    | TransferApplied
    | TransferRejected
    | TotalsReported
    | OrderTriggered
    | OrderListAccepted
    | OrderListRejected
    | OrderListDone
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        MarketAdded,
        MarketUpdated,
        MarketStatusChanged,
        CommandRejected,
        OrderAccepted,
        OrderRejected,
        TradeExecuted,
        OrderFilled,
        OrderCancelled,
        OrderExpired,
        OrderAmended,
        BalanceChanged,
        BookChanged,
        TransferApplied,
        TransferRejected,
        TotalsReported,
        OrderTriggered,
        OrderListAccepted,
        OrderListRejected,
        OrderListDone,
    )
}
