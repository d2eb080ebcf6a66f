"""Order placement and cancels: each a command to the market's matcher.

Orders and trades are never written here: the persister projects them from the matcher's events
(trading/projections.py). An order is validated completely first (trading.services.validation)
so nothing malformed reaches the matcher; the engine then decides funds, matching and
everything that depends on the book. Every command goes out through the request's
``OrderWriter`` (trading.services.writer), which builds its guards. Refusals are DomainErrors.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from accounts import shard_funds
from common.errors import DomainError, NotFound, ValidationFailed
from matching.arith import MarketUnits, base_atoms, order_hold, protection_price
from matching.commands import AmendOrder, CancelAll, CancelOrder, PlaceOrder
from matching.errors import EndReason, RejectReason
from matching.events import OrderAmended, OrderCancelled
from matching.types import MarketSpec, Side
from pipeline.client import new_command_id, now_ns, shard_map
from trading import selectors
from trading.ids import next_order_id
from trading.orders import OrderRequest, apply_rejection, apply_reply, placed_order, rejection
from trading.services.validation import (
    Amounts,
    amend_units,
    check_sizes_still,
    market_of,
    shard_of,
    validated,
)
from trading.services.writer import OrderWriter

_R = RejectReason
REJECT_STATUS: dict[str, int] = {
    **dict.fromkeys(
        (
            _R.INSUFFICIENT_FUNDS,
            _R.INVALID_PRICE,
            _R.INVALID_QUANTITY,
            _R.INVALID_ORDER,
            _R.BELOW_MIN_NOTIONAL,
            _R.ABOVE_MAX_NOTIONAL,
            _R.INVALID_STOP_PRICE,
            _R.NO_REFERENCE_PRICE,
            _R.INVALID_EXPIRE_TIME,
            _R.INVALID_ORDER_LIST,
            # a symbol the database lists but the matcher does not (yet): a bad field value,
            # as when the database does not list it (docs/api.md)
            _R.UNKNOWN_MARKET,
        ),
        400,
    ),
    **dict.fromkeys(
        (
            _R.DUPLICATE_CLIENT_ORDER_ID,
            _R.DUPLICATE_ORDER_ID,
            _R.POST_ONLY_WOULD_TAKE,
            _R.FOK_NOT_FILLABLE,
            _R.MARKET_HALTED,
            _R.WOULD_TRIGGER_IMMEDIATELY,
            _R.DUPLICATE_LIST_ID,
            _R.DUPLICATE_CLIENT_LIST_ID,
            _R.ORDER_NOT_AMENDABLE,
        ),
        409,
    ),
    _R.ORDER_NOT_FOUND: 404,
    _R.ORDER_LIST_NOT_FOUND: 404,
}


class OrderRejected(DomainError):
    """The matcher refused the order; the body carries the order with status "rejected"."""

    def __init__(self, reason: str, order: dict[str, Any]) -> None:
        super().__init__(
            f"The order was rejected: {reason.replace('_', ' ')}.",
            code=reason,
            details={"order": order},
        )
        self.status = REJECT_STATUS.get(reason, 400)


def hold_atoms(
    units: MarketUnits, side: Side, amounts: Amounts, stop: int | None = None
) -> int | None:
    """What an order holds (atoms of quote for a buy, base for a sell), or None: a market buy
    by base quantity holds nothing, it spends what there is."""
    ticks, lots, quote = amounts
    is_buy = side is Side.BUY
    if ticks is None and is_buy and lots is not None and stop is not None:
        # a stop/take-profit market buy by quantity holds at its protection price
        # (docs/order-types.md), as the engine computes it
        ticks = protection_price(stop)
    if ticks is not None and lots is not None:
        return order_hold(units, is_buy, ticks, lots)
    if not is_buy and lots is not None:
        return base_atoms(units, lots)
    return quote


def fund_shard(
    writer: OrderWriter, spec: MarketSpec, side: Side, shard: str, atoms: int | None
) -> None:
    """With several matcher shards, bring what an order will hold (``hold_atoms``) to its
    market's shard (deposits land on the funding shard). A no-op, without any I/O, with one
    shard."""
    if len(shard_map().shards) == 1:
        return
    writer.check_key()  # a transfer may be sent first, without the check
    if atoms is None:
        return
    asset = spec.quote.code if side is Side.BUY else spec.base.code
    shard_funds.ensure_available(writer.user_id, asset, atoms, shard)


def order_place(writer: OrderWriter, req: OrderRequest) -> tuple[dict[str, Any], bool]:
    """Validate, assign an id, send, and return (the order, whether the matcher answered).

    Not answered within ORDER_REPLY_TIMEOUT: the command is durable, the order is "pending"
    (the API answers 202). Refused by the matcher: raises OrderRejected. The command carries
    the order as placed (its placeholder, shown "pending" until the persister writes it)."""
    entry, spec, units, (ticks, lots, quote), (stop, iceberg) = validated(req)
    shard = shard_of(req.symbol)
    fund_shard(
        writer, spec, req.side, shard, hold_atoms(units, req.side, (ticks, lots, quote), stop)
    )

    order_id = next_order_id()
    ts = now_ns()
    order = placed_order(req, spec, order_id, ts, (ticks, lots, quote, stop, iceberg))
    cmd = PlaceOrder(
        new_command_id(),
        ts,
        order_id,
        writer.user_id,
        req.symbol,
        req.side,
        req.type,
        req.time_in_force,
        ticks,
        lots,
        quote,
        req.post_only,
        req.stp_mode,
        req.client_order_id,
        stop,
        req.trailing_delta,
        iceberg,
        req.expire_time,
    )
    placeholder = json.dumps(order, separators=(",", ":")).encode()
    check_sizes_still(req.symbol, entry)
    sent = writer.send(shard, cmd, placeholder=(order_id, placeholder))
    if sent.events is None:
        return order, False
    reason = rejection(sent.events, order_id)
    if reason is not None:
        apply_rejection(order, reason)
        raise OrderRejected(reason, order)
    apply_reply(order, spec, sent.events)
    return order, True


def order_cancel(
    writer: OrderWriter,
    symbol: str,
    *,
    order_id: int | None,
    client_order_id: str | None,
) -> dict[str, Any] | None:
    """Cancel one of the caller's open orders; the cancelled order, or None if not answered.

    The engine looks the order up among the writer's orders only, so another user's id is
    ``order_not_found`` like an id that never existed.
    """
    market_of(symbol)
    user_id = writer.user_id
    cmd = CancelOrder(new_command_id(), now_ns(), user_id, symbol, order_id, client_order_id)
    # By id: that order's placed copy comes back with the reply. By client id the id is not
    # known yet, and the reply falls back to the order's row.
    read = order_id if order_id is not None else False
    sent = writer.send(shard_of(symbol), cmd, read_placed=read)
    if sent.events is None:
        return None
    reason = rejection(sent.events, -1)
    if reason == RejectReason.ORDER_NOT_FOUND:
        raise NotFound("No such open order.", code="order_not_found")
    if reason is not None:
        raise ValidationFailed(f"The cancel was refused: {reason}.", code=reason)
    cancelled = [ev for ev in sent.events if isinstance(ev, OrderCancelled)]
    # An OCO leg's cancel ends its other leg too (reason order_list): answer with the one asked.
    asked = [
        ev
        for ev in cancelled
        if ev.order_id == order_id or (order_id is None and ev.reason != EndReason.ORDER_LIST)
    ]
    return selectors.orders_cancelled(user_id, asked or cancelled, sent.placed or {})[0]


class AmendRefused(DomainError):
    """The matcher refused an amend (order_not_amendable, post_only_would_take, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The amend was refused: {reason.replace('_', ' ')}.", code=reason)
        self.status = REJECT_STATUS.get(reason, 400)


def order_amend(
    writer: OrderWriter,
    symbol: str,
    *,
    order_id: int | None,
    client_order_id: str | None,
    price: Decimal | None,
    quantity: Decimal | None,
) -> dict[str, Any] | None:
    """Amend one of the caller's resting orders (``quantity`` the new total); the order after
    it with ``kept_priority``, or None if the matcher did not answer. The reply is read back
    through the read-your-writes barrier: an amend is no hot path, and its filled amounts and
    fills are the row's."""
    _, ticks, lots = amend_units(symbol, price, quantity)
    cmd = AmendOrder(
        new_command_id(), now_ns(), writer.user_id, symbol, order_id, client_order_id, ticks, lots
    )
    sent = writer.send(shard_of(symbol), cmd)
    if sent.events is None:
        return None
    reason = rejection(sent.events, -1)
    if reason == RejectReason.ORDER_NOT_FOUND:
        raise NotFound("No such open order.", code="order_not_found")
    if reason is not None:
        raise AmendRefused(reason)
    amended = next((ev for ev in sent.events if isinstance(ev, OrderAmended)), None)
    if amended is None:  # nothing to change (the same price and quantity): it kept its place
        order = selectors.order_get(
            writer.user_id, symbol, order_id=order_id, client_order_id=client_order_id
        )
        order["kept_priority"] = True
        return order
    order = selectors.order_get(
        writer.user_id, symbol, order_id=amended.order_id, client_order_id=None
    )
    order["kept_priority"] = amended.kept_priority
    return order


def order_cancel_all(writer: OrderWriter, symbol: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Cancel the caller's open orders (one market, or every shard); (cancelled, all answered)."""
    if symbol is not None:
        market_of(symbol)
        targets: list[tuple[str, str | None]] = [(shard_of(symbol), symbol)]
    else:
        targets = [(shard, None) for shard in shard_map().shards]
    cancelled: list[OrderCancelled] = []
    placeholders: dict[int, bytes] = {}
    answered = True
    for shard, only in targets:
        cmd = CancelAll(new_command_id(), now_ns(), writer.user_id, only)
        sent = writer.send(shard, cmd, read_placed=True)
        if sent.events is None:
            answered = False
            continue
        cancelled += [ev for ev in sent.events if isinstance(ev, OrderCancelled)]
        placeholders.update(sent.placed or {})
    return selectors.orders_cancelled(writer.user_id, cancelled, placeholders), answered
