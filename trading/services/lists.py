"""Order lists (OCO): placement and cancel, each a command to the market's matcher.

An OCO is validated as its two legs would be (trading.services.validation: grid, notional),
plus the legs' order around each other; the engine decides the rest (the last trade price,
funds, the book). Its list id and both legs' order ids are assigned here from the order ids'
blocks, and the list and its legs are kept as placed (placeholders, shown "pending" until the
persister writes them; the list under its id negated) in the command's own round trip.
"""

from __future__ import annotations

import json
from typing import Any

from common.errors import DomainError, NotFound, ValidationFailed
from matching import events as ev_types
from matching.commands import CancelOrderList, PlaceOrderList
from matching.errors import RejectReason
from matching.events import Event, OrderCancelled, OrderListDone
from matching.types import OrderType, Side, TimeInForce
from pipeline.client import new_command_id, now_ns
from trading import selectors
from trading.ids import next_order_id
from trading.order_lists import PENDING, OcoRequest, list_json
from trading.orders import NS_PER_MS, OrderRequest, apply_rejection, apply_reply, placed_order
from trading.services.placement import REJECT_STATUS, fund_shard, hold_atoms
from trading.services.validation import check_sizes_still, market_of, shard_of, validated
from trading.services.writer import OrderWriter


class OrderListRejected(DomainError):
    """The matcher refused the list; the body carries it with status "rejected"."""

    def __init__(self, reason: str, order_list: dict[str, Any]) -> None:
        super().__init__(
            f"The order list was rejected: {reason.replace('_', ' ')}.",
            code=reason,
            details={"order_list": order_list},
        )
        self.status = REJECT_STATUS.get(reason, 400)


def _legs(req: OcoRequest) -> tuple[OrderRequest, OrderRequest]:
    limit = OrderRequest(
        symbol=req.symbol,
        side=req.side,
        type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        price=req.price,
        quantity=req.quantity,
        quote_quantity=None,
        post_only=False,
        stp_mode=req.stp_mode,
        client_order_id=req.limit_client_order_id,
    )
    stop_limit = req.stop_limit_price is not None
    stop = OrderRequest(
        symbol=req.symbol,
        side=req.side,
        type=OrderType.STOP_LIMIT if stop_limit else OrderType.STOP_MARKET,
        # a stop_market leg waits until cancelled like any stop_market order
        time_in_force=req.stop_limit_time_in_force if stop_limit else TimeInForce.GTC,
        price=req.stop_limit_price,
        quantity=req.quantity,
        quote_quantity=None,
        post_only=False,
        stp_mode=req.stp_mode,
        client_order_id=req.stop_client_order_id,
        stop_price=req.stop_price,
    )
    return limit, stop


def _stop_leg_checked(stop: OrderRequest) -> Any:
    """The stop leg validated; its refusals name the OCO's fields (its ``price`` is the
    request's ``stop_limit_price``)."""
    try:
        return validated(stop)
    except ValidationFailed as exc:
        details = exc.details if isinstance(exc.details, dict) else None
        if details is not None and details.get("field") == "price":
            details["field"] = "stop_limit_price"
        raise


def order_list_place_oco(writer: OrderWriter, req: OcoRequest) -> tuple[dict[str, Any], bool]:
    """Validate, assign the ids, send, and return (the list, whether the matcher answered).

    Not answered within ORDER_REPLY_TIMEOUT: the list and its legs are "pending" (202).
    Refused by the matcher: raises OrderListRejected."""
    if req.side is Side.SELL and not req.price > req.stop_price:
        raise ValidationFailed(
            "A sell OCO's limit price must be above its stop price.",
            code="invalid_request",
            details={"field": "stop_price"},
        )
    if req.side is Side.BUY and not req.price < req.stop_price:
        raise ValidationFailed(
            "A buy OCO's limit price must be below its stop price.",
            code="invalid_request",
            details={"field": "stop_price"},
        )
    limit_req, stop_req = _legs(req)
    entry, spec, units, limit_amounts, _ = validated(limit_req)
    _, _, _, stop_amounts, (stop_ticks, _) = _stop_leg_checked(stop_req)
    if stop_ticks is None:  # (never: a stop leg always has its stop price)
        raise TypeError("an OCO's stop leg without a stop price")
    shard = shard_of(req.symbol)
    # The list holds the larger of its legs' holds, not their sum (docs/order-types.md).
    holds = [
        hold_atoms(units, req.side, limit_amounts),
        hold_atoms(units, req.side, stop_amounts, stop_ticks),
    ]
    fund_shard(
        writer, spec, req.side, shard, max((h for h in holds if h is not None), default=None)
    )

    list_id, limit_id, stop_id = next_order_id(), next_order_id(), next_order_id()
    ts = now_ns()
    limit = placed_order(limit_req, spec, limit_id, ts, limit_amounts, list_id=list_id)
    stop = placed_order(
        stop_req, spec, stop_id, ts, (*stop_amounts, stop_ticks, None), list_id=list_id
    )
    ms = ts // NS_PER_MS
    order_list = list_json(
        list_id=list_id,
        client_list_id=req.client_list_id,
        symbol=req.symbol,
        status=PENDING,
        reject_reason=None,
        orders=[limit, stop],
        created_at=ms,
        updated_at=ms,
    )
    ticks, lots, _ = limit_amounts
    if ticks is None or lots is None:  # (never: validated, a limit leg has both)
        raise TypeError("an OCO's limit leg without price or quantity")
    cmd = PlaceOrderList(
        new_command_id(),
        ts,
        list_id,
        writer.user_id,
        req.symbol,
        req.side,
        lots,
        ticks,
        stop_ticks,
        stop_amounts[0],
        req.stop_limit_time_in_force,
        limit_id,
        stop_id,
        req.client_list_id,
        req.limit_client_order_id,
        req.stop_client_order_id,
        req.stp_mode,
    )
    check_sizes_still(req.symbol, entry)
    sent = writer.send(
        shard,
        cmd,
        placeholder=(limit_id, _dumps(limit)),
        more_placeholders=((stop_id, _dumps(stop)), (-list_id, _dumps(order_list))),
    )
    if sent.events is None:
        return order_list, False
    reason = _list_rejection(sent.events, list_id, (limit_id, stop_id))
    if reason is not None:
        for leg in (limit, stop):
            apply_rejection(leg, reason)
        order_list.update(status="rejected", reject_reason=reason)
        raise OrderListRejected(reason, order_list)
    for leg in (limit, stop):
        apply_reply(leg, spec, sent.events)
    done = any(type(ev) is OrderListDone and ev.list_id == list_id for ev in sent.events)
    order_list["status"] = "all_done" if done else "executing"
    order_list["updated_at"] = max(leg["updated_at"] for leg in (limit, stop))
    return order_list, True


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _list_rejection(events: list[Event], list_id: int, legs: tuple[int, ...]) -> str | None:
    """Why the matcher refused the list (its OrderListRejected, a leg's OrderRejected, or the
    command's CommandRejected), if it did."""
    for ev in events:
        if isinstance(ev, ev_types.OrderListRejected) and ev.list_id == list_id:
            return str(ev.reason)
        if isinstance(ev, ev_types.OrderRejected) and ev.order_id in legs:
            return str(ev.reason)
        if isinstance(ev, ev_types.CommandRejected):
            return str(ev.reason)
    return None


def order_list_cancel(
    writer: OrderWriter, symbol: str, *, list_id: int | None, client_list_id: str | None
) -> dict[str, Any] | None:
    """Cancel one of the caller's order lists (its open legs); the list as it ended, or None
    if the matcher did not answer. Another user's list is ``order_list_not_found``."""
    market_of(symbol)
    cmd = CancelOrderList(
        new_command_id(), now_ns(), writer.user_id, symbol, list_id, client_list_id
    )
    sent = writer.send(shard_of(symbol), cmd, read_placed=True)
    if sent.events is None:
        return None
    reason = _list_rejection(sent.events, -1, ())
    if reason in (RejectReason.ORDER_LIST_NOT_FOUND, RejectReason.ORDER_NOT_FOUND):
        raise NotFound("No such open order list.", code="order_list_not_found")
    if reason is not None:
        raise ValidationFailed(f"The cancel was refused: {reason}.", code=reason)
    cancelled = [ev for ev in sent.events if isinstance(ev, OrderCancelled)]
    return selectors.order_list_cancelled(
        writer.user_id, symbol, list_id, client_list_id, cancelled, sent.placed or {}
    )
