"""The one order representation: every shape in which the API shows an order is built here.

* the order (``order_json``): ``order_id, client_order_id, symbol, side, type, time_in_force,
  price, quantity, quote_quantity, post_only, stp_mode, stop_price, trailing_delta,
  iceberg_quantity, expire_time, list_id, filled_quantity, filled_quote, status, reject_reason,
  expire_reason, trigger_price, fills, created_at, updated_at``, as the POST reply, GET, open
  orders, history and the "pending" placeholder show it; a cancel's reply is the same without
  ``fills``;
* a fill of it (``fill_json``), in ``fills`` and in the ``orders`` stream's ``fill``;
* an update of it on the private ``orders`` stream (``order_update_json``, built by
  ``marketdata.frames``).

The order and its update begin with what it was placed with (``placed_json``). Money is a
decimal string (REST writes it plain, the stream at the market's precision: the caller
formats), times are ms. The output serializers of ``trading.serializers`` declare these shapes
for the schema; tests/trading/test_order_representation.py holds the declarations to what is
built here, for every status. The builders are plain functions because they are on the order
path and in the publisher's fan-out, where a DRF serializer's ``.data`` would cost about 250 us
an order against 1 us (docs/architecture.md). The sources: the request and the matcher's reply
(``placed_order``, ``apply_reply``, ``apply_rejection``), the matcher's cancel event
(``cancelled_order``), rows (``row_order``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from common.amounts import plain
from common.clock import datetime_to_ms
from matching.arith import atoms_to_amount, lots_to_quantity, ticks_to_price
from matching.events import (
    CommandRejected,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderListRejected,
    OrderRejected,
    OrderTriggered,
    TradeExecuted,
)
from matching.types import MarketSpec, OrderType, Side, StpMode, TimeInForce
from trading.models import CONDITIONAL_TYPES, Order, OrderStatus, Trade

NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A parsed, well-typed order request (amounts still decimals, not yet on the grid)."""

    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    post_only: bool
    stp_mode: StpMode
    client_order_id: str | None
    # conditional orders, icebergs, GTD (docs/order-types.md); None when unused
    stop_price: Decimal | None = None
    trailing_delta: int | None = None  # basis points
    iceberg_quantity: Decimal | None = None
    expire_time: int | None = None  # unix ms, with GTD


# An order's amounts in the engine's integers: (price ticks, quantity lots, quote atoms), then
# (stop price ticks, iceberg lots) for the types that have them.
Units = tuple[int | None, ...]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


# --- the shapes -----------------------------------------------------------------------------------


def placed_json(
    *,
    order_id: int,
    client_order_id: str | None,
    symbol: str,
    side: str | None,
    type: str | None,
    time_in_force: str | None,
    price: str | None,
    quantity: str | None,
    quote_quantity: str | None,
    post_only: bool | None,
    stp_mode: str | None,
    stop_price: str | None = None,
    trailing_delta: int | None = None,
    iceberg_quantity: str | None = None,
    expire_time: int | None = None,
    list_id: int | None = None,
) -> dict[str, Any]:
    """What the order was placed with: the first fields of every shape."""
    return {
        "order_id": order_id,
        "client_order_id": client_order_id,
        "symbol": symbol,
        "side": side,
        "type": type,
        "time_in_force": time_in_force,
        "price": price,
        "quantity": quantity,
        "quote_quantity": quote_quantity,
        "post_only": post_only,
        "stp_mode": stp_mode,
        "stop_price": stop_price,
        "trailing_delta": trailing_delta,
        "iceberg_quantity": iceberg_quantity,
        "expire_time": expire_time,
        "list_id": list_id,
    }


def order_json(
    placed: dict[str, Any],
    *,
    filled_quantity: str,
    filled_quote: str,
    status: str,
    reject_reason: str | None,
    expire_reason: str | None,
    fills: list[dict[str, Any]] | None,
    created_at: int | None,
    updated_at: int,
    trigger_price: str | None = None,
) -> dict[str, Any]:
    """The order, from ``placed_json``; ``fills`` None leaves them out (a cancel's reply).
    ``trigger_price``: the last trade price that triggered a conditional order."""
    order = {
        **placed,
        "filled_quantity": filled_quantity,
        "filled_quote": filled_quote,
        "status": status,
        "reject_reason": reject_reason,
        "expire_reason": expire_reason,
        "trigger_price": trigger_price,
    }
    if fills is not None:
        order["fills"] = fills
    order["created_at"] = created_at
    order["updated_at"] = updated_at
    return order


def fill_json(
    *, trade_id: int, price: str, quantity: str, fee: str, fee_asset: str, liquidity: str
) -> dict[str, Any]:
    """One trade of the order, from its side (``liquidity``: maker or taker)."""
    return {
        "trade_id": trade_id,
        "price": price,
        "quantity": quantity,
        "fee": fee,
        "fee_asset": fee_asset,
        "liquidity": liquidity,
    }


def order_update_json(
    placed: dict[str, Any],
    *,
    update: str,
    time: int,
    created_at: int | None,
    status: str | None,
    reason: str | None,
    filled_quantity: str | None,
    filled_quote: str | None,
    fill: dict[str, Any] | None,
    trigger_price: str | None = None,
    kept_priority: bool | None = None,
) -> dict[str, Any]:
    """One change of the order, as the private ``orders`` stream sends it (docs/api.md):
    ``update`` says what happened, ``reason`` why it ended or was refused, ``fill`` is the
    trade of a ``trade`` update, ``trigger_price`` the price that triggered a ``triggered``
    one, ``kept_priority`` whether an ``amended`` one kept its place; the stream does not
    repeat ``fills``."""
    return {
        "e": "order",
        "E": time,
        "update": update,
        **placed,
        "created_at": created_at,
        "status": status,
        "reason": reason,
        "trigger_price": trigger_price,
        "filled_quantity": filled_quantity,
        "filled_quote": filled_quote,
        "fill": fill,
        "kept_priority": kept_priority,
    }


# --- from the request and the matcher's reply -----------------------------------------------------


def placed_order(
    req: OrderRequest,
    spec: MarketSpec,
    order_id: int,
    ts_ns: int,
    units: Units,
    list_id: int | None = None,
) -> dict[str, Any]:
    """The order as sent (status pending); ``units`` are its (ticks, lots, quote atoms[, stop
    ticks, iceberg lots])."""
    ticks, lots, quote_atoms = units[:3]
    stop_ticks, iceberg_lots = (*units[3:5], None, None)[:2]
    ms = ts_ns // NS_PER_MS
    placed = placed_json(
        order_id=order_id,
        client_order_id=req.client_order_id,
        symbol=req.symbol,
        side=str(req.side),
        type=str(req.type),
        time_in_force=str(req.time_in_force),
        price=None if ticks is None else plain(ticks_to_price(spec, ticks)),
        quantity=None if lots is None else plain(lots_to_quantity(spec, lots)),
        quote_quantity=(
            None
            if quote_atoms is None
            else plain(atoms_to_amount(spec.quote.decimals, quote_atoms))
        ),
        post_only=req.post_only,
        stp_mode=str(req.stp_mode),
        stop_price=None if stop_ticks is None else plain(ticks_to_price(spec, stop_ticks)),
        trailing_delta=req.trailing_delta,
        iceberg_quantity=None
        if iceberg_lots is None
        else plain(lots_to_quantity(spec, iceberg_lots)),
        expire_time=req.expire_time,
        list_id=list_id,
    )
    return order_json(
        placed,
        filled_quantity="0",
        filled_quote="0",
        status=str(OrderStatus.PENDING),
        reject_reason=None,
        expire_reason=None,
        fills=[],
        created_at=ms,
        updated_at=ms,
    )


def rejection(events: Sequence[Event], order_id: int) -> str | None:
    """The reason the matcher refused this order (or its command), if it did."""
    for ev in events:
        if type(ev) is OrderRejected and ev.order_id == order_id:
            return str(ev.reason)
        if type(ev) is CommandRejected or type(ev) is OrderListRejected:
            return str(ev.reason)
    return None


def apply_rejection(order: dict[str, Any], reason: str) -> None:
    """The order as the matcher refused it (``rejection``): status rejected, and why."""
    order["status"] = str(OrderStatus.REJECTED)
    order["reject_reason"] = reason


def apply_reply(order: dict[str, Any], spec: MarketSpec, events: Sequence[Event]) -> None:
    """Fold this order's events from the matcher's reply into ``order`` (status, fills)."""
    order_id = order["order_id"]
    status = OrderStatus.NEW
    fills: list[dict[str, Any]] = []
    for ev in events:
        if isinstance(ev, OrderAccepted):
            if ev.order_id != order_id:
                continue
            if ev.type in CONDITIONAL_TYPES:
                status = OrderStatus.UNTRIGGERED
            if ev.stop_price is not None:  # a trailing stop's initial one, set by the engine
                order["stop_price"] = plain(ticks_to_price(spec, ev.stop_price))
        elif isinstance(ev, OrderTriggered):
            if ev.order_id != order_id:
                continue
            status = OrderStatus.NEW
            order["stop_price"] = plain(ticks_to_price(spec, ev.stop_price))
            order["trigger_price"] = plain(ticks_to_price(spec, ev.trigger_price))
        elif isinstance(ev, TradeExecuted):
            if ev.taker_order_id != order_id:
                continue
            fills.append(_taker_fill(spec, ev))
            status = OrderStatus.PARTIALLY_FILLED
            order.update(_filled(spec, ev.taker_filled, ev.taker_filled_quote))
        elif isinstance(ev, OrderFilled | OrderExpired | OrderCancelled):
            if ev.order_id != order_id:
                continue  # another order this one met (STP expired a maker, ...)
            status = _END[type(ev)]
            order.update(_filled(spec, ev.filled_quantity, ev.filled_quote))
            if not isinstance(ev, OrderFilled):
                order["expire_reason"] = str(ev.reason)
        else:
            continue
        order["updated_at"] = ev.ts // NS_PER_MS
    order["status"] = str(status)
    order["fills"] = fills


_END: dict[type, OrderStatus] = {
    OrderFilled: OrderStatus.FILLED,
    OrderExpired: OrderStatus.EXPIRED,
    OrderCancelled: OrderStatus.CANCELLED,
}


def _filled(spec: MarketSpec, lots: int, quote_atoms: int) -> dict[str, str]:
    return {
        "filled_quantity": plain(lots_to_quantity(spec, lots)),
        "filled_quote": plain(atoms_to_amount(spec.quote.decimals, quote_atoms)),
    }


def _taker_fill(spec: MarketSpec, ev: TradeExecuted) -> dict[str, Any]:
    decimals = spec.base.decimals if ev.taker_fee_asset == spec.base.code else spec.quote.decimals
    return fill_json(
        trade_id=ev.trade_id,
        price=plain(ticks_to_price(spec, ev.price)),
        quantity=plain(lots_to_quantity(spec, ev.quantity)),
        fee=plain(atoms_to_amount(decimals, ev.taker_fee)),
        fee_asset=ev.taker_fee_asset,
        liquidity="taker",
    )


def cancelled_order(
    placed: dict[str, Any] | None, spec: MarketSpec, ev: OrderCancelled
) -> dict[str, Any]:
    """A cancelled order in the usual shape minus ``fills`` (see
    ``selectors.orders_cancelled``): what it was placed with from ``placed`` (a placeholder, or
    ``placed_from_row``; None if neither was found), how it ended from its event."""
    p = placed or {}
    filled = _filled(spec, ev.filled_quantity, ev.filled_quote)
    as_placed = placed_json(
        order_id=ev.order_id,
        client_order_id=p.get("client_order_id"),
        symbol=ev.symbol,
        side=p.get("side"),
        type=p.get("type"),
        time_in_force=p.get("time_in_force"),
        price=p.get("price"),
        quantity=p.get("quantity"),
        quote_quantity=p.get("quote_quantity"),
        post_only=p.get("post_only"),
        stp_mode=p.get("stp_mode"),
        stop_price=p.get("stop_price"),
        trailing_delta=p.get("trailing_delta"),
        iceberg_quantity=p.get("iceberg_quantity"),
        expire_time=p.get("expire_time"),
        list_id=p.get("list_id"),
    )
    return order_json(
        as_placed,
        filled_quantity=filled["filled_quantity"],
        filled_quote=filled["filled_quote"],
        status=str(OrderStatus.CANCELLED),
        reject_reason=None,
        expire_reason=str(ev.reason),
        fills=None,
        created_at=p.get("created_at"),
        updated_at=ev.ts // NS_PER_MS,
        trigger_price=p.get("trigger_price"),
    )


PLACED_COLUMNS = (
    "id",
    "client_order_id",
    "side",
    "type",
    "time_in_force",
    "price",
    "quantity",
    "quote_quantity",
    "post_only",
    "stp_mode",
    "created_at",
    "stop_price",
    "trailing_delta",
    "iceberg_quantity",
    "expire_time",
    "list_id",
    "trigger_price",
)
"""What an order was placed with (and its trigger), as
``Order.objects.values_list(*PLACED_COLUMNS)``."""


def placed_from_row(values: Sequence[Any]) -> dict[str, Any]:
    """The fields of ``placed_order`` from a ``PLACED_COLUMNS`` row (no model instance: a
    cancel-all formats dozens of them on the order path)."""
    _, coid, side, type_, tif, price, quantity, quote_quantity, post_only, stp, created = values[
        :11
    ]
    stop, trailing, iceberg, expire, list_id, trigger = values[11:]
    return {
        "client_order_id": coid,
        "side": side,
        "type": type_,
        "time_in_force": tif,
        "price": _money(price),
        "quantity": _money(quantity),
        "quote_quantity": _money(quote_quantity),
        "post_only": post_only,
        "stp_mode": stp,
        "created_at": datetime_to_ms(created),
        "stop_price": _money(stop),
        "trailing_delta": trailing,
        "iceberg_quantity": _money(iceberg),
        "expire_time": None if expire is None else datetime_to_ms(expire),
        "list_id": list_id,
        "trigger_price": _money(trigger),
    }


# --- from rows ------------------------------------------------------------------------------------


def row_order(order: Order, symbol: str, fills: Iterable[Trade] = ()) -> dict[str, Any]:
    """An Order row (with its market's symbol) and the Trade rows it took part in."""
    placed = placed_json(
        order_id=order.id,
        client_order_id=order.client_order_id,
        symbol=symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        price=_money(order.price),
        quantity=_money(order.quantity),
        quote_quantity=_money(order.quote_quantity),
        post_only=order.post_only,
        stp_mode=order.stp_mode,
        stop_price=_money(order.stop_price),
        trailing_delta=order.trailing_delta,
        iceberg_quantity=_money(order.iceberg_quantity),
        expire_time=None if order.expire_time is None else datetime_to_ms(order.expire_time),
        list_id=order.list_id,
    )
    return order_json(
        placed,
        filled_quantity=plain(order.filled_quantity),
        filled_quote=plain(order.filled_quote),
        status=order.status,
        reject_reason=order.reject_reason or None,
        expire_reason=order.expire_reason or None,
        fills=[row_fill(trade, order.id) for trade in fills],
        created_at=datetime_to_ms(order.created_at),
        updated_at=datetime_to_ms(order.updated_at),
        trigger_price=_money(order.trigger_price),
    )


def row_fill(trade: Trade, order_id: int) -> dict[str, Any]:
    maker = trade.maker_order_id == order_id
    return fill_json(
        trade_id=trade.trade_id,
        price=plain(trade.price),
        quantity=plain(trade.quantity),
        fee=plain(trade.maker_fee if maker else trade.taker_fee),
        fee_asset=(trade.maker_fee_asset if maker else trade.taker_fee_asset).code,
        liquidity="maker" if maker else "taker",
    )


def row_trade(trade: Trade, user_id: int) -> dict[str, Any]:
    """One of the caller's fills, seen from the caller's side."""
    maker = trade.maker_user_id == user_id
    taker_side = trade.taker_side
    side = taker_side if not maker else ("sell" if taker_side == "buy" else "buy")
    return {
        "trade_id": trade.trade_id,
        "symbol": trade.market.symbol,
        "order_id": trade.maker_order_id if maker else trade.taker_order_id,
        "side": side,
        "price": plain(trade.price),
        "quantity": plain(trade.quantity),
        "quote_quantity": plain(trade.quote_quantity),
        "fee": plain(trade.maker_fee if maker else trade.taker_fee),
        "fee_asset": (trade.maker_fee_asset if maker else trade.taker_fee_asset).code,
        "liquidity": "maker" if maker else "taker",
        "time": datetime_to_ms(trade.executed_at),
    }
