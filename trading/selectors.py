"""Reads for the trading app. Private reads first wait for the database to be current.

The read barrier: ``accounts.selectors.await_recorded(user)`` blocks (up to
READ_YOUR_WRITES_TIMEOUT) until the persister has committed every command that user sent and
every batch that filled one of its resting orders, so a GET right after a 201/202, or right
after another user was told its order filled the caller's, sees it; past the timeout it answers
503 if the database may lack such an applied command. Orders the matcher has not processed yet
are shown from their "pending" placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from common.clock import datetime_to_ms
from common.errors import NotFound
from matching.events import OrderCancelled
from pipeline.barrier import await_recorded
from pipeline.client import matcher
from trading.models import ListStatus, Market, Order, OrderList, OrderStatus, Trade
from trading.order_lists import list_json, row_list
from trading.orders import PLACED_COLUMNS, cancelled_order, placed_from_row, row_order
from trading.specs import cached_market

OPEN = (OrderStatus.UNTRIGGERED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


def market_list() -> QuerySet[Market]:
    return Market.objects.select_related("base", "quote").order_by("symbol")


def market_get(symbol: str) -> Market:
    try:
        return market_list().get(symbol=symbol)
    except Market.DoesNotExist:
        raise NotFound(f"Unknown market {symbol!r}.", code="unknown_market") from None


def _fills(orders: Sequence[Order]) -> dict[int, list[Trade]]:
    ids = [o.id for o in orders if o.filled_quantity > 0]
    found: dict[int, list[Trade]] = {}
    if not ids:
        return found
    trades = (
        Trade.objects.filter(Q(maker_order_id__in=ids) | Q(taker_order_id__in=ids))
        .select_related("maker_fee_asset", "taker_fee_asset")
        .order_by("trade_id")
    )
    wanted = set(ids)
    for trade in trades:
        for order_id in (trade.maker_order_id, trade.taker_order_id):
            if order_id in wanted:
                found.setdefault(order_id, []).append(trade)
    return found


def _as_dicts(orders: Sequence[Order]) -> list[dict[str, Any]]:
    fills = _fills(orders)
    return [row_order(o, o.market.symbol, fills.get(o.id, ())) for o in orders]


def _pending(user_id: int) -> list[dict[str, Any]]:
    """The user's orders the persister has not written yet, as placed. (Order lists are kept
    beside them under their ids negated: trading.services.lists.)"""
    placeholders = matcher().pending_orders(user_id)
    return [json.loads(raw) for key, raw in sorted(placeholders.items()) if key > 0]


def _pending_lists(user_id: int) -> list[dict[str, Any]]:
    placeholders = matcher().pending_orders(user_id)
    return [json.loads(raw) for key, raw in sorted(placeholders.items()) if key < 0]


def _recorded_or_pending(
    rows: QuerySet[Any],
    pending: Callable[[], list[dict[str, Any]]],
    symbol: str,
    by_id: tuple[str, int | None],
    by_client_id: tuple[str, str | None],
    rejected: str,
) -> Any:
    """The caller's one order or list: its row by id, or else by client id; else the
    placeholder of a command the persister has not recorded yet; else the row again (written
    between the two reads, its placeholder is gone). None: neither.

    ``by_id`` and ``by_client_id`` name the placeholder's keys (the row's fields are ``id``
    and the client key). A rejected duplicate may share the client id with the one that owns
    it: the other one first, else the newest."""
    id_key, id_ = by_id
    client_key, client_id = by_client_id

    def from_db() -> Any:
        if id_ is not None:
            return rows.filter(id=id_).first()
        named = rows.filter(**{client_key: client_id})
        return named.exclude(status=rejected).first() or named.order_by("-created_at").first()

    row = from_db()
    if row is not None:
        return row
    for placeholder in pending():
        if placeholder["symbol"] == symbol and (
            placeholder[id_key] == id_ or (id_ is None and placeholder[client_key] == client_id)
        ):
            return placeholder
    return from_db()


def order_get(
    user_id: int, symbol: str, *, order_id: int | None, client_order_id: str | None
) -> dict[str, Any]:
    """One of the caller's orders, by id or client id; another user's is ``order_not_found``."""
    await_recorded(user_id)
    rows = Order.objects.filter(user_id=user_id, market__symbol=symbol).select_related("market")
    found = _recorded_or_pending(
        rows,
        lambda: _pending(user_id),
        symbol,
        ("order_id", order_id),
        ("client_order_id", client_order_id),
        OrderStatus.REJECTED,
    )
    if found is None:
        raise NotFound("No such order.", code="order_not_found")
    if isinstance(found, dict):
        return found
    return _as_dicts([found])[0]


def open_orders(user_id: int, symbol: str | None) -> list[dict[str, Any]]:
    """The caller's open orders, oldest first, then those the matcher has not processed yet."""
    await_recorded(user_id)
    # Placeholders first: an order written meanwhile is then in the rows (its placeholder
    # dropped after the commit), never in neither.
    pending = [p for p in _pending(user_id) if symbol is None or p["symbol"] == symbol]
    rows = Order.objects.filter(user_id=user_id, status__in=OPEN).select_related("market")
    if symbol is not None:
        rows = rows.filter(market__symbol=symbol)
    found = _as_dicts(list(rows.order_by("created_at", "id")))
    seen = {o["order_id"] for o in found}
    return found + [p for p in pending if p["order_id"] not in seen]


def orders_cancelled(
    user_id: int, events: Sequence[OrderCancelled], placeholders: Mapping[int, bytes]
) -> list[dict[str, Any]]:
    """The orders a cancel just ended, answered without waiting for the persister.

    A cancel's reply is on the order path of market makers (cancel-all, then quote again), so it
    must not wait for the persister the way reads do. What an order was placed with never
    changes: it is in its "pending" placeholder until the persister has written the row, then
    in the row. How it ended (filled amounts, status, reason, time) is in the matcher's events.
    The reply has no ``fills``: they may not be persisted yet; GET /order lists them.
    """
    if not events:
        return []
    # ``placeholders`` are the user's on the cancel's shard, read in the cancel's own round trip
    # after the matcher's reply, so before the rows below: the persister deletes a placeholder
    # only after committing its row, so an order missing from both reads was never there (or
    # its placeholder expired, a day later).
    wanted = [ev.order_id for ev in events if ev.order_id not in placeholders]
    rows = (
        {
            values[0]: placed_from_row(values)
            for values in Order.objects.filter(user_id=user_id, id__in=wanted).values_list(
                *PLACED_COLUMNS
            )
        }
        if wanted
        else {}
    )
    out: list[dict[str, Any]] = []
    for ev in events:
        raw = placeholders.get(ev.order_id)
        placed = json.loads(raw) if raw is not None else rows.get(ev.order_id)
        out.append(cancelled_order(placed, cached_market(ev.symbol)[1], ev))
    return out


def order_history(
    user_id: int,
    *,
    symbol: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Order]:
    """The caller's orders, any status, in [start, end)."""
    await_recorded(user_id)
    rows = Order.objects.filter(user_id=user_id).select_related("market")
    if symbol:
        rows = rows.filter(market__symbol=symbol)
    if status:
        rows = rows.filter(status=status)
    if start:
        rows = rows.filter(created_at__gte=start)
    if end:
        rows = rows.filter(created_at__lt=end)
    return rows


def orders_with_fills(orders: Sequence[Order]) -> list[dict[str, Any]]:
    return _as_dicts(orders)


def trade_history(
    user_id: int,
    *,
    symbol: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Trade]:
    await_recorded(user_id)
    rows = Trade.objects.filter(Q(maker_user_id=user_id) | Q(taker_user_id=user_id)).select_related(
        "market", "maker_fee_asset", "taker_fee_asset"
    )
    if symbol:
        rows = rows.filter(market__symbol=symbol)
    if start:
        rows = rows.filter(executed_at__gte=start)
    if end:
        rows = rows.filter(executed_at__lt=end)
    return rows


# --- order lists (OCO) ----------------------------------------------------------------------------


def order_list_get(
    user_id: int, symbol: str, *, list_id: int | None, client_list_id: str | None
) -> dict[str, Any]:
    """One of the caller's order lists with its legs, by id or client id; another user's is
    ``order_list_not_found``. A list the matcher has not processed yet is its placeholder."""
    await_recorded(user_id)
    found = _recorded_or_pending(
        OrderList.objects.filter(user_id=user_id, market__symbol=symbol),
        lambda: _pending_lists(user_id),
        symbol,
        ("list_id", list_id),
        ("client_list_id", client_list_id),
        ListStatus.REJECTED,
    )
    if found is None:
        raise NotFound("No such order list.", code="order_list_not_found")
    if isinstance(found, dict):
        return found
    return lists_with_orders([found], symbol)[0]


def order_list_history(user_id: int, *, symbol: str | None = None) -> QuerySet[OrderList]:
    """The caller's order lists, any status."""
    await_recorded(user_id)
    rows = OrderList.objects.filter(user_id=user_id).select_related("market")
    if symbol:
        rows = rows.filter(market__symbol=symbol)
    return rows


def lists_with_orders(
    lists: Sequence[OrderList], symbol: str | None = None
) -> list[dict[str, Any]]:
    """The lists with their legs (and the legs' fills): two queries for a page."""
    legs: dict[int, list[Order]] = {}
    orders = list(Order.objects.filter(list_id__in=[r.id for r in lists]))
    for order in orders:
        if order.list_id is not None:
            legs.setdefault(order.list_id, []).append(order)
    fills = _fills(orders)
    return [row_list(r, symbol or r.market.symbol, legs.get(r.id, ()), fills) for r in lists]


def order_list_cancelled(
    user_id: int,
    symbol: str,
    list_id: int | None,
    client_list_id: str | None,
    events: Sequence[OrderCancelled],
    placeholders: Mapping[int, bytes],
) -> dict[str, Any]:
    """The list a cancel just ended, answered without waiting for the persister (as
    ``orders_cancelled``): ``orders`` are the legs this cancel ended, without fills."""
    legs = orders_cancelled(user_id, events, placeholders)
    if list_id is None and legs:
        list_id = legs[0]["list_id"]
    raw = placeholders.get(-list_id) if list_id is not None else None
    placed: dict[str, Any] | None = json.loads(raw) if raw is not None else None
    if placed is None:
        rows = OrderList.objects.filter(user_id=user_id, market__symbol=symbol)
        row = (
            rows.filter(id=list_id).first()
            if list_id is not None
            else rows.filter(client_list_id=client_list_id).order_by("-created_at").first()
        )
        placed = {
            "list_id": list_id if row is None else row.id,
            "client_list_id": client_list_id if row is None else row.client_list_id,
            "created_at": None if row is None else datetime_to_ms(row.created_at),
        }
    return list_json(
        list_id=placed["list_id"],
        client_list_id=placed["client_list_id"],
        symbol=symbol,
        status=ListStatus.ALL_DONE,
        reject_reason=None,
        orders=legs,
        created_at=placed["created_at"],
        updated_at=max((leg["updated_at"] for leg in legs), default=None),
    )
