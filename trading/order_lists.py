"""The order list (OCO) representation, built here as trading/orders.py builds an order's.

* the list (``list_json``): ``list_id, client_list_id, symbol, contingency_type, status,
  reject_reason, orders, created_at, updated_at``; ``orders`` is its two legs, the limit leg
  first, each the order representation (trading/orders.py); as the POST reply, GET, the
  user's lists and the "pending" placeholder show it;
* an update of it on the private ``orders`` stream (``list_update_json``, built by
  ``marketdata.frames``): ``{e: "order_list", E, update, list_id, client_list_id, symbol,
  contingency_type, status, reason, order_ids}``.

``trading.serializers`` declares both (``OrderListOutputSerializer``,
``OrderListUpdateOutputSerializer``); tests/trading/test_order_lists.py holds them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from common.clock import datetime_to_ms
from matching.types import Side, StpMode, TimeInForce
from trading.models import Order, OrderList, Trade
from trading.orders import row_order

OCO = "oco"
PENDING = "pending"  # a list the matcher has not processed yet (only outside the engine)


@dataclass(frozen=True, slots=True)
class OcoRequest:
    """A parsed OCO request (``POST /api/v1/order-list/oco``), amounts still decimals."""

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal  # the limit leg's
    stop_price: Decimal  # the stop leg's trigger
    stop_limit_price: Decimal | None  # None: the stop leg is a stop_market
    stop_limit_time_in_force: TimeInForce
    stp_mode: StpMode
    client_list_id: str | None
    limit_client_order_id: str | None
    stop_client_order_id: str | None


def list_json(
    *,
    list_id: int,
    client_list_id: str | None,
    symbol: str,
    status: str,
    reject_reason: str | None,
    orders: list[dict[str, Any]],
    created_at: int | None,
    updated_at: int | None,
) -> dict[str, Any]:
    return {
        "list_id": list_id,
        "client_list_id": client_list_id,
        "symbol": symbol,
        "contingency_type": OCO,
        "status": status,
        "reject_reason": reject_reason,
        "orders": orders,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def list_update_json(
    *,
    update: str,
    time: int,
    list_id: int,
    client_list_id: str | None,
    symbol: str,
    status: str,
    reason: str | None,
    order_ids: list[int],
) -> dict[str, Any]:
    """One change of an order list on the ``orders`` stream: ``update`` is ``accepted``,
    ``rejected`` or ``done`` (every leg ended); the legs' own changes are order updates."""
    return {
        "e": "order_list",
        "E": time,
        "update": update,
        "list_id": list_id,
        "client_list_id": client_list_id,
        "symbol": symbol,
        "contingency_type": OCO,
        "status": status,
        "reason": reason,
        "order_ids": order_ids,
    }


def row_list(
    order_list: OrderList, symbol: str, legs: Iterable[Order], fills: dict[int, list[Trade]]
) -> dict[str, Any]:
    """An OrderList row with its legs' rows (limit leg first: the lower id, assigned first)."""
    orders = [row_order(o, symbol, fills.get(o.id, ())) for o in sorted(legs, key=lambda o: o.id)]
    return list_json(
        list_id=order_list.id,
        client_list_id=order_list.client_list_id,
        symbol=symbol,
        status=order_list.status,
        reject_reason=order_list.reject_reason or None,
        orders=orders,
        created_at=datetime_to_ms(order_list.created_at),
        updated_at=datetime_to_ms(order_list.updated_at),
    )
