"""The event builders of conditional orders and OCO lists, as ``matching.emit``'s (called by
keyword, fields placed once here); kept apart so ``emit`` stays one screenful per concern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from matching.errors import RejectReason
from matching.events import OrderListAccepted, OrderListDone, OrderListRejected, OrderTriggered
from matching.types import OrderType

_new: Final[Callable[..., Any]] = tuple.__new__


def order_triggered(
    *,
    seq: int,
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    symbol: str,
    type: OrderType,
    trigger_price: int,
    stop_price: int,
) -> OrderTriggered:
    event: OrderTriggered = _new(
        OrderTriggered,
        (seq, command_id, ts, order_id, account, symbol, type, trigger_price, stop_price),
    )
    return event


def order_list_accepted(
    *,
    seq: int,
    command_id: str,
    ts: int,
    list_id: int,
    account: int,
    symbol: str,
    client_list_id: str | None,
    limit_order_id: int,
    stop_order_id: int,
) -> OrderListAccepted:
    event: OrderListAccepted = _new(
        OrderListAccepted,
        (
            seq,
            command_id,
            ts,
            list_id,
            account,
            symbol,
            client_list_id,
            limit_order_id,
            stop_order_id,
        ),
    )
    return event


def order_list_rejected(
    *,
    seq: int,
    command_id: str,
    ts: int,
    list_id: int,
    account: int,
    symbol: str,
    client_list_id: str | None,
    limit_order_id: int,
    stop_order_id: int,
    reason: RejectReason,
) -> OrderListRejected:
    event: OrderListRejected = _new(
        OrderListRejected,
        (
            seq,
            command_id,
            ts,
            list_id,
            account,
            symbol,
            client_list_id,
            limit_order_id,
            stop_order_id,
            reason,
        ),
    )
    return event


def order_list_done(
    *,
    seq: int,
    command_id: str,
    ts: int,
    list_id: int,
    account: int,
    symbol: str,
) -> OrderListDone:
    event: OrderListDone = _new(OrderListDone, (seq, command_id, ts, list_id, account, symbol))
    return event
