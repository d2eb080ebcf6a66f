"""One builder per event, called by keyword: the only place an event's fields are put in order.

The engine's handlers build every event through these (``trade_executed(seq=..., ...)``), so mypy
checks each field by name, and the fields are placed positionally here, once per event type,
beside nothing else. Compiled (docs/architecture.md, "Compiled engine"), a handler's keyword call
of a builder is a direct native call and the builder fills the tuple without binding keywords;
interpreted, it costs one call more than the record's own ``__new__`` by keyword did.
``tests/matching/test_emit.py`` holds every builder to its event's fields, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from matching.errors import EndReason, RejectReason
from matching.events import (
    BalanceChanged,
    BookChanged,
    CommandRejected,
    MarketAdded,
    MarketStatusChanged,
    MarketUpdated,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    TotalsReported,
    TradeExecuted,
    TransferApplied,
    TransferRejected,
)
from matching.types import (
    BalanceReason,
    MarketSpec,
    MarketStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)

# tuple.__new__ straight: a NamedTuple's own __new__ is a Python function that binds its
# arguments again.
_new: Final[Callable[..., Any]] = tuple.__new__


def market_added(
    *,
    seq: int,
    command_id: str,
    ts: int,
    spec: MarketSpec,
) -> MarketAdded:
    event: MarketAdded = _new(MarketAdded, (seq, command_id, ts, spec))
    return event


def market_updated(
    *,
    seq: int,
    command_id: str,
    ts: int,
    spec: MarketSpec,
) -> MarketUpdated:
    event: MarketUpdated = _new(MarketUpdated, (seq, command_id, ts, spec))
    return event


def market_status_changed(
    *,
    seq: int,
    command_id: str,
    ts: int,
    symbol: str,
    status: MarketStatus,
) -> MarketStatusChanged:
    event: MarketStatusChanged = _new(MarketStatusChanged, (seq, command_id, ts, symbol, status))
    return event


def command_rejected(
    *,
    seq: int,
    command_id: str,
    ts: int,
    reason: RejectReason,
) -> CommandRejected:
    event: CommandRejected = _new(CommandRejected, (seq, command_id, ts, reason))
    return event


def order_accepted(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    side: Side,
    type: OrderType,
    time_in_force: TimeInForce,
    price: int | None,
    quantity: int | None,
    quote_quantity: int | None,
    post_only: bool,
    stp_mode: StpMode,
    client_order_id: str | None,
    stop_price: int | None,
    trailing_delta: int | None,
    iceberg_quantity: int | None,
    expire_time: int | None,
    list_id: int | None,
) -> OrderAccepted:
    event: OrderAccepted = _new(
        OrderAccepted,
        (
            seq,
            command_id,
            ts,
            order_id,
            account,
            symbol,
            side,
            type,
            time_in_force,
            price,
            quantity,
            quote_quantity,
            post_only,
            stp_mode,
            client_order_id,
            stop_price,
            trailing_delta,
            iceberg_quantity,
            expire_time,
            list_id,
        ),
    )
    return event


def order_rejected(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    client_order_id: str | None,
    reason: RejectReason,
    side: Side | None = None,
    type: OrderType | None = None,
    time_in_force: TimeInForce | None = None,
    price: int | None = None,
    quantity: int | None = None,
    quote_quantity: int | None = None,
    post_only: bool = False,
    stp_mode: StpMode | None = None,
    stop_price: int | None = None,
    trailing_delta: int | None = None,
    iceberg_quantity: int | None = None,
    expire_time: int | None = None,
    list_id: int | None = None,
) -> OrderRejected:
    event: OrderRejected = _new(
        OrderRejected,
        (
            seq,
            command_id,
            ts,
            order_id,
            account,
            symbol,
            client_order_id,
            reason,
            side,
            type,
            time_in_force,
            price,
            quantity,
            quote_quantity,
            post_only,
            stp_mode,
            stop_price,
            trailing_delta,
            iceberg_quantity,
            expire_time,
            list_id,
        ),
    )
    return event


def trade_executed(
    *,
    seq: int,
    command_id: str,
    ts: int,
    symbol: str,
    trade_id: int,
    price: int,
    quantity: int,
    quote_amount: int,
    taker_side: Side,
    maker_order_id: int,
    taker_order_id: int,
    maker_account: int,
    taker_account: int,
    maker_fee: int,
    maker_fee_asset: str,
    taker_fee: int,
    taker_fee_asset: str,
    maker_filled: int,
    maker_filled_quote: int,
    taker_filled: int,
    taker_filled_quote: int,
) -> TradeExecuted:
    event: TradeExecuted = _new(
        TradeExecuted,
        (
            seq,
            command_id,
            ts,
            symbol,
            trade_id,
            price,
            quantity,
            quote_amount,
            taker_side,
            maker_order_id,
            taker_order_id,
            maker_account,
            taker_account,
            maker_fee,
            maker_fee_asset,
            taker_fee,
            taker_fee_asset,
            maker_filled,
            maker_filled_quote,
            taker_filled,
            taker_filled_quote,
        ),
    )
    return event


def order_filled(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    filled_quantity: int,
    filled_quote: int,
) -> OrderFilled:
    event: OrderFilled = _new(
        OrderFilled, (seq, command_id, ts, order_id, account, symbol, filled_quantity, filled_quote)
    )
    return event


def order_cancelled(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    reason: EndReason,
    filled_quantity: int,
    filled_quote: int,
) -> OrderCancelled:
    event: OrderCancelled = _new(
        OrderCancelled,
        (seq, command_id, ts, order_id, account, symbol, reason, filled_quantity, filled_quote),
    )
    return event


def order_expired(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    reason: EndReason,
    filled_quantity: int,
    filled_quote: int,
) -> OrderExpired:
    event: OrderExpired = _new(
        OrderExpired,
        (seq, command_id, ts, order_id, account, symbol, reason, filled_quantity, filled_quote),
    )
    return event


def order_ended(
    kind: type[OrderCancelled] | type[OrderExpired],
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    reason: EndReason,
    filled_quantity: int,
    filled_quote: int,
) -> OrderCancelled | OrderExpired:
    """A resting order's end, cancelled or expired as ``kind`` says: the two records have the
    same fields (checked beside the builders in tests/matching/test_emit.py)."""
    event: OrderCancelled | OrderExpired = _new(
        kind,
        (seq, command_id, ts, order_id, account, symbol, reason, filled_quantity, filled_quote),
    )
    return event


def order_amended(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    price: int,
    quantity: int,
    kept_priority: bool,
) -> OrderAmended:
    event: OrderAmended = _new(
        OrderAmended,
        (seq, command_id, ts, order_id, account, symbol, price, quantity, kept_priority),
    )
    return event


def balance_changed(
    *,
    seq: int,
    command_id: str,
    ts: int,
    account: int,
    asset: str,
    available: int,
    locked: int,
    delta_available: int,
    delta_locked: int,
    reason: BalanceReason,
    cause: str,
) -> BalanceChanged:
    event: BalanceChanged = _new(
        BalanceChanged,
        (
            seq,
            command_id,
            ts,
            account,
            asset,
            available,
            locked,
            delta_available,
            delta_locked,
            reason,
            cause,
        ),
    )
    return event


def book_changed(
    *,
    seq: int,
    command_id: str,
    ts: int,
    symbol: str,
    update_id: int,
    bids: tuple[tuple[int, int], ...],
    asks: tuple[tuple[int, int], ...],
) -> BookChanged:
    event: BookChanged = _new(BookChanged, (seq, command_id, ts, symbol, update_id, bids, asks))
    return event


def transfer_applied(
    *,
    seq: int,
    command_id: str,
    ts: int,
    transfer_id: str,
    kind: str,
    account: int,
    asset: str,
    amount: int,
) -> TransferApplied:
    event: TransferApplied = _new(
        TransferApplied, (seq, command_id, ts, transfer_id, kind, account, asset, amount)
    )
    return event


def totals_reported(
    *,
    seq: int,
    command_id: str,
    ts: int,
    totals: tuple[tuple[str, int, int, int, int], ...],
) -> TotalsReported:
    event: TotalsReported = _new(TotalsReported, (seq, command_id, ts, totals))
    return event


def transfer_rejected(
    *,
    seq: int,
    command_id: str,
    ts: int,
    transfer_id: str,
    reason: RejectReason,
) -> TransferRejected:
    event: TransferRejected = _new(TransferRejected, (seq, command_id, ts, transfer_id, reason))
    return event
