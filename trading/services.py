"""Writes for the trading app: markets, and orders as commands to the matcher.

Orders and trades are never written here: the persister projects them from the matcher's events
(trading/projections.py). An order is validated completely here (grid, combination, minimum
notional) so nothing malformed reaches the matcher; the engine then decides funds, matching and
everything that depends on the book.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

from accounts import shard_funds
from accounts.authentication import DeferredKeyCheck
from accounts.models import Asset
from accounts.selectors import await_own_writes
from exchange_site.errors import DomainError, NotFound, Unavailable, ValidationFailed
from exchange_site.throttling import CommandCount
from matching.arith import (
    MarketUnits,
    OffGrid,
    amount_to_atoms,
    atoms_to_amount,
    base_atoms,
    compile_market,
    notional_atoms,
    order_hold,
    price_to_ticks,
    quantity_to_lots,
)
from matching.client import Sent, matcher, new_command_id, now_ns, shard_map
from matching.commands import CancelAll, CancelOrder, Command, PlaceOrder, SetMarketStatus
from matching.errors import RejectReason
from matching.events import OrderCancelled
from matching.types import MarketSpec, OrderType, Side, TimeInForce
from matching.types import MarketStatus as EngineMarketStatus
from trading import selectors
from trading.ids import next_order_id
from trading.models import EventCheckpoint, Market, MarketStatus
from trading.orders import OrderRequest, apply_reply, placed_order, rejection
from trading.specs import cached_market

# Who "sent" operator commands (halt / resume) for the read-your-writes barrier; no user has 0.
SYSTEM_WRITER = 0

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
        ),
        409,
    ),
    _R.ORDER_NOT_FOUND: 404,
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


# --- Markets ------------------------------------------------------------------------------------


def market_upsert(
    symbol: str,
    *,
    base: Asset,
    quote: Asset,
    tick_size: Decimal,
    lot_size: Decimal,
    min_notional: Decimal,
    maker_fee_rate: Decimal,
    taker_fee_rate: Decimal,
) -> Market:
    """Create a market (trading) or update its spec; the status is left alone on update."""
    market = Market.objects.filter(symbol=symbol).first() or Market(symbol=symbol)
    market.base, market.quote = base, quote
    market.tick_size, market.lot_size, market.min_notional = tick_size, lot_size, min_notional
    market.maker_fee_rate, market.taker_fee_rate = maker_fee_rate, taker_fee_rate
    try:
        market.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid market {symbol}.", code="invalid_market_spec", details=exc.message_dict
        ) from exc
    market.save()
    return market


def market_set_status(market: Market, status: str) -> Market:
    """Halt or resume trading: a command to the market's matcher, which owns market state.

    The persister then writes Market.status from the engine's event; this waits for it, so the
    caller (the admin) sees the new status. No answer from the matcher: 503, and the command
    stays queued (it applies when the matcher runs). Applied but the persister behind past the
    read-your-writes timeout: 503 ``writes_not_persisted`` (the engine has the new status).
    """
    if status not in MarketStatus.values:
        raise ValidationFailed(f"Unknown market status {status!r}.", code="invalid_status")
    cmd = SetMarketStatus(new_command_id(), now_ns(), market.symbol, EngineMarketStatus(status))
    sent = matcher().send(_shard(market.symbol), cmd, user=SYSTEM_WRITER)
    if sent.events is None:
        raise Unavailable(
            f"The matcher for {market.symbol} did not answer; the change is queued and applies "
            "when it runs.",
            code="matcher_unavailable",
        )
    reason = rejection(sent.events, -1)
    if reason is not None:
        raise ValidationFailed(f"The matcher refused: {reason}.", code=reason)
    await_own_writes(SYSTEM_WRITER)  # 503 writes_not_persisted if the persister is behind
    market.refresh_from_db(fields=["status"])
    return market


# --- Orders -------------------------------------------------------------------------------------


def market_of(symbol: str) -> tuple[int, MarketSpec]:
    """(market id, spec) of a listed market; 400 ``unknown_market`` otherwise."""
    try:
        market_id, spec, _, _ = cached_market(symbol)
    except Market.DoesNotExist:
        raise ValidationFailed(
            f"Unknown market {symbol!r}.", code="unknown_market", details={"field": "symbol"}
        ) from None
    return market_id, spec


def _shard(symbol: str) -> str:
    try:
        return shard_map().for_market(symbol)
    except LookupError:
        raise Unavailable(f"No matcher serves {symbol}.", code="market_unavailable") from None


@lru_cache(maxsize=256)
def _units(spec: MarketSpec) -> MarketUnits:
    return compile_market(spec)


def _on_grid(field: str, convert: Any, *args: Any) -> int:
    try:
        units: int = convert(*args)
    except OffGrid as exc:
        raise ValidationFailed(
            f"{field} is not a valid amount here ({exc.code.replace('_', ' ')}).",
            code=exc.code,
            details={"field": field},
        ) from None
    return units


def _check_combination(req: OrderRequest) -> None:
    """The field combinations the engine accepts, refused here with a precise message."""
    problem = None
    if req.type is OrderType.LIMIT:
        if req.price is None or req.quantity is None:
            problem = "A limit order needs price and quantity."
        elif req.quote_quantity is not None:
            problem = "quote_quantity is for market buys only."
        elif req.post_only and req.time_in_force is not TimeInForce.GTC:
            problem = "post_only needs time_in_force GTC."
    elif req.price is not None:
        problem = "A market order has no price."
    elif req.time_in_force is not TimeInForce.IOC:
        problem = "A market order is IOC (it never rests): omit time_in_force or send IOC."
    elif req.post_only:
        problem = "post_only is for limit orders only."
    elif req.side is Side.SELL and (req.quantity is None or req.quote_quantity is not None):
        problem = "A market sell needs quantity (and no quote_quantity)."
    elif req.side is Side.BUY and (req.quantity is None) == (req.quote_quantity is None):
        problem = "A market buy needs exactly one of quantity and quote_quantity."
    if problem:
        raise ValidationFailed(problem, code="invalid_request")


def _fund_shard(
    user_id: int,
    spec: MarketSpec,
    units: MarketUnits,
    req: OrderRequest,
    shard: str,
    amounts: tuple[int | None, int | None, int | None],
    key_check: DeferredKeyCheck | None,
) -> None:
    """With several matcher shards, bring what the order will hold to its market's shard
    (deposits land on the funding shard). A no-op, without any I/O, with one shard."""
    if len(shard_map().shards) == 1:
        return
    if key_check is not None:
        key_check.check_unsent()  # a transfer may be sent first, without the check
    ticks, lots, quote = amounts
    is_buy = req.side is Side.BUY
    if ticks is not None and lots is not None:
        atoms = order_hold(units, is_buy, ticks, lots)
    elif not is_buy and lots is not None:
        atoms = base_atoms(units, lots)
    elif quote is not None:
        atoms = quote
    else:
        return  # a market buy by base quantity holds nothing; it spends what the shard has
    asset = spec.quote.code if is_buy else spec.base.code
    shard_funds.ensure_available(user_id, asset, atoms, shard)


def _send(
    shard: str,
    cmd: Command,
    rate: CommandCount | None,
    key_check: DeferredKeyCheck | None,
    **options: Any,
) -> Sent:
    """Send ``cmd``, counting the request against its throttle in the same round trip (once
    per request); past the limit nothing is sent and Throttled is raised (429). With the
    request's deferred API-key check, the same round trip refuses a switched-off key: the
    database then decides between AuthenticationFailed (401) and sending again."""
    limit = rate.take() if rate else None
    sent = matcher().send(
        shard, cmd, rate_limit=limit, key_check=key_check.take() if key_check else None, **options
    )
    if sent.switched_off and key_check is not None:
        key_check.confirm()
        sent = matcher().send(shard, cmd, rate_limit=limit, **options)
    if sent.throttled and rate is not None:
        rate.refuse()
    return sent


def _validated(
    req: OrderRequest,
) -> tuple[MarketSpec, MarketUnits, tuple[int | None, int | None, int | None]]:
    """Everything checked without the engine (market, combination, grid, notional); the
    market's spec and units, and the order's (ticks, lots, quote atoms)."""
    _, spec = market_of(req.symbol)
    _check_combination(req)
    ticks = None if req.price is None else _on_grid("price", price_to_ticks, spec, req.price)
    lots = (
        None if req.quantity is None else _on_grid("quantity", quantity_to_lots, spec, req.quantity)
    )
    quote = (
        None
        if req.quote_quantity is None
        else _on_grid("quote_quantity", amount_to_atoms, spec.quote.decimals, req.quote_quantity)
    )
    units = _units(spec)
    notional = notional_atoms(units, ticks, lots) if ticks and lots else quote
    if notional is not None and notional < units.min_notional_atoms:
        raise ValidationFailed(
            f"The order is worth less than the minimum of {spec.min_notional} {spec.quote.code}.",
            code="below_min_notional",
            details={"min_notional": str(spec.min_notional)},
        )
    if notional is not None and notional > units.max_notional_atoms:
        largest = atoms_to_amount(spec.quote.decimals, units.max_notional_atoms)
        raise ValidationFailed(
            f"The order is worth more than the maximum of {largest} {spec.quote.code}.",
            code="above_max_notional",
            details={"max_notional": str(largest)},
        )
    return spec, units, (ticks, lots, quote)


def order_check(req: OrderRequest) -> MarketSpec:
    """Validate an order as ``order_place`` does, without sending it (Binance's
    ``POST /api/v3/order/test``); raises the same refusals. The engine's own checks (funds,
    the book) are not made."""
    return _validated(req)[0]


def order_place(
    user_id: int,
    req: OrderRequest,
    *,
    rate: CommandCount | None = None,
    key_check: DeferredKeyCheck | None = None,
) -> tuple[dict[str, Any], bool]:
    """Validate, assign an id, send, and return (the order, whether the matcher answered).

    Not answered within ORDER_REPLY_TIMEOUT: the command is durable, the order is "pending"
    (the API answers 202). Refused by the matcher: raises OrderRejected. ``rate``: the
    request's throttle count, made with the command (exchange_site.throttling); ``key_check``:
    its API key's revocation check, made with the command too (accounts.authentication).
    """
    spec, units, (ticks, lots, quote) = _validated(req)
    shard = _shard(req.symbol)
    _fund_shard(user_id, spec, units, req, shard, (ticks, lots, quote), key_check)

    order_id = next_order_id()
    ts = now_ns()
    order = placed_order(req, spec, order_id, ts, (ticks, lots, quote))
    cmd = PlaceOrder(
        new_command_id(),
        ts,
        order_id,
        user_id,
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
    )
    placeholder = json.dumps(order, separators=(",", ":")).encode()
    sent = _send(shard, cmd, rate, key_check, user=user_id, pending_order=(order_id, placeholder))
    if sent.events is None:
        return order, False
    reason = rejection(sent.events, order_id)
    if reason is not None:
        order["status"], order["reject_reason"] = "rejected", reason
        raise OrderRejected(reason, order)
    apply_reply(order, spec, sent.events)
    return order, True


def order_cancel(
    user_id: int,
    symbol: str,
    *,
    order_id: int | None,
    client_order_id: str | None,
    rate: CommandCount | None = None,
    key_check: DeferredKeyCheck | None = None,
) -> dict[str, Any] | None:
    """Cancel one of the caller's open orders; the cancelled order, or None if not answered.

    The engine looks the order up among ``user_id``'s orders only, so another user's id is
    ``order_not_found`` like an id that never existed.
    """
    market_of(symbol)
    cmd = CancelOrder(new_command_id(), now_ns(), user_id, symbol, order_id, client_order_id)
    # By id: that order's placed copy comes back with the reply. By client id the id is not
    # known yet, and the reply falls back to the order's row.
    read = order_id if order_id is not None else False
    sent = _send(_shard(symbol), cmd, rate, key_check, user=user_id, read_placed=read)
    if sent.events is None:
        return None
    reason = rejection(sent.events, -1)
    if reason == RejectReason.ORDER_NOT_FOUND:
        raise NotFound("No such open order.", code="order_not_found")
    if reason is not None:
        raise ValidationFailed(f"The cancel was refused: {reason}.", code=reason)
    cancelled = [ev for ev in sent.events if isinstance(ev, OrderCancelled)]
    return selectors.orders_cancelled(user_id, cancelled, sent.placed or {})[0]


def order_cancel_all(
    user_id: int,
    symbol: str | None,
    *,
    rate: CommandCount | None = None,
    key_check: DeferredKeyCheck | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Cancel the caller's open orders (one market, or every shard); (cancelled, all answered)."""
    if symbol is not None:
        market_of(symbol)
        targets: list[tuple[str, str | None]] = [(_shard(symbol), symbol)]
    else:
        targets = [(shard, None) for shard in shard_map().shards]
    cancelled: list[OrderCancelled] = []
    placeholders: dict[int, bytes] = {}
    answered = True
    for shard, only in targets:
        sent = _send(
            shard,
            CancelAll(new_command_id(), now_ns(), user_id, only),
            rate,
            key_check,
            user=user_id,
            read_placed=True,
        )
        if sent.events is None:
            answered = False
            continue
        cancelled += [ev for ev in sent.events if isinstance(ev, OrderCancelled)]
        placeholders.update(sent.placed or {})
    return selectors.orders_cancelled(user_id, cancelled, placeholders), answered


# --- Persistence --------------------------------------------------------------------------------


def persistence_retry(checkpoint: EventCheckpoint) -> EventCheckpoint:
    """Clear a shard's persistence halt (matching/persister.py): its persister tries the halted
    event again within a second, and halts again, with the new error, if it still fails.
    ``python manage.py resume_persister`` does the same after trying the event itself first."""
    if checkpoint.halted_at is None:
        raise ValidationFailed(f"Persistence of {checkpoint.stream} is not halted.")
    EventCheckpoint.objects.filter(pk=checkpoint.pk).update(
        halted_at=None, halted_seq=None, halted_entry="", halt_reason=""
    )
    checkpoint.refresh_from_db()
    return checkpoint
