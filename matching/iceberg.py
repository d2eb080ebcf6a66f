"""Iceberg orders: which orders may be icebergs (docs/order-types.md, "Iceberg orders").

The book side (a visible slice, the refill at the back of the level) is in ``matching.book``;
the fill loop's part in ``matching.fills``; the FOK check's in ``matching.orders``.

Decided semantics
-----------------
*Validation* (after the checks of an ordinary order, ``matching.orders``): ``iceberg_quantity``
only on ``limit``, ``stop_limit`` and ``take_profit_limit`` orders with ``time_in_force`` GTC
or GTD, else ``invalid_order`` (the field combination is wrong); ``0 < iceberg_quantity <
quantity`` lots and at most ``MAX_ICEBERG_PARTS`` slices (``ceil(quantity / iceberg_quantity)``),
else ``invalid_quantity`` (the amount is wrong). ``post_only`` icebergs are allowed (Binance's
LIMIT_MAKER icebergs). The parts bound is Binance's ``ICEBERG_PARTS`` filter: it bounds what one
taker can make of one iceberg (one trade per slice), so a 1-lot slice of a huge order cannot
turn one command into millions of trades.

*Amend.* A new quantity is held to the same parts bound (``invalid_quantity``); it may fall to
or below ``iceberg_quantity`` (the order then shows all it has left). Reducing keeps the place
and trims the visible slice to what is left; a price change or an increase requeues the order
at the back with a fresh slice.
"""

from __future__ import annotations

from typing import Final

from matching.commands import PlaceOrder
from matching.errors import RejectReason
from matching.types import OrderType, TimeInForce

MAX_ICEBERG_PARTS: Final = 100

LIMIT: Final = OrderType.LIMIT
STOP_LIMIT: Final = OrderType.STOP_LIMIT
TAKE_PROFIT_LIMIT: Final = OrderType.TAKE_PROFIT_LIMIT
GTC: Final = TimeInForce.GTC
GTD: Final = TimeInForce.GTD


def iceberg_refusal(command: PlaceOrder) -> RejectReason | None:
    """Why ``command``'s ``iceberg_quantity`` is refused, or None (also when it has none)."""
    iceberg = command.iceberg_quantity
    if iceberg is None:
        return None
    order_type = command.type
    tif = command.time_in_force
    if (
        order_type is not LIMIT
        and order_type is not STOP_LIMIT
        and order_type is not TAKE_PROFIT_LIMIT
    ) or (tif is not GTC and tif is not GTD):
        return RejectReason.INVALID_ORDER
    lots = command.quantity
    if lots is None or not 0 < iceberg < lots or too_many_parts(lots, iceberg):
        return RejectReason.INVALID_QUANTITY
    return None


def too_many_parts(quantity: int, display: int) -> bool:
    """More than ``MAX_ICEBERG_PARTS`` slices of ``display`` lots in ``quantity``?"""
    return (quantity + display - 1) // display > MAX_ICEBERG_PARTS
