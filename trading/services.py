"""Writes for the trading app: markets, and orders as commands to the matcher.

Orders and trades are never written here: the persister projects them from the matcher's events
(trading/projections.py). An order is validated completely here (grid, combination, minimum
notional) so nothing malformed reaches the matcher; the engine then decides funds, matching and
everything that depends on the book.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

from accounts import shard_funds
from accounts.authentication import DeferredKeyCheck
from accounts.models import Asset
from accounts.selectors import await_recorded
from common.amounts import plain
from common.errors import Conflict, DomainError, NotFound, Unavailable, ValidationFailed
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
from matching.commands import (
    AddMarket,
    CancelAll,
    CancelOrder,
    Command,
    PlaceOrder,
    SetMarketStatus,
    UpdateMarket,
)
from matching.errors import RejectReason
from matching.events import OrderCancelled
from matching.types import MarketSpec, OrderType, Side, TimeInForce
from matching.types import MarketStatus as EngineMarketStatus
from pipeline.client import Sent, matcher, new_command_id, now_ns, shard_map
from trading import selectors
from trading.ids import next_order_id
from trading.models import OPEN_STATUSES, EventCheckpoint, Market, MarketStatus, Order, Trade
from trading.orders import OrderRequest, apply_rejection, apply_reply, placed_order, rejection
from trading.specs import (
    MarketEntry,
    cached_market,
    market_spec,
    rules_drain_s,
    units_drain_s,
)

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
#
# The engine owns markets: a market exists, trades at given sizes and fees, or is halted because
# the matcher applied a command saying so. The Market row is the persister's projection of those
# commands' events (MarketAdded, MarketUpdated, MarketStatusChanged: trading/projections.py), so
# an operator's change is sent first and reaches the row only once the matcher has applied it.
# A change the matcher refuses leaves nothing to undo; one it has not answered yet is durable in
# its log and reaches the row when applied; a web process that dies in between leaves the two in
# agreement. (Saving the row first would leave it wrong in each of those cases, and the next
# matcher start would then push the wrong row to the engine.) Every process reads the row
# within MARKET_SPEC_CACHE_TTL_S (trading/specs.py), which a change waits out before it is
# reported done. ``market_upsert`` writes rows directly, for a venue that has no matcher yet
# (seed_demo, tests): the matcher adds those markets when it starts (Matcher.sync_markets).


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
    """Create a market's row (trading) or update its spec; the status is left alone on update.

    The row only: for setting up a venue before its matchers run, which add the market when
    they start. A running venue changes markets with ``market_add`` and ``market_change``."""
    market = Market.objects.filter(symbol=symbol).first() or Market(symbol=symbol)
    market.base, market.quote = base, quote
    market.tick_size, market.lot_size, market.min_notional = tick_size, lot_size, min_notional
    market.maker_fee_rate, market.taker_fee_rate = maker_fee_rate, taker_fee_rate
    _validate_market(market)
    market.save()
    return market


@dataclass(frozen=True, slots=True)
class MarketChanged:
    """What an operator's change did, for the admin to say."""

    market: Market
    changes: tuple[str, ...]  # "maker fee rate 0.001 -> 0.0005", ...
    halted_for_s: float = 0.0  # a tick or lot size change halts trading while caches drain

    def describe(self) -> str:
        if not self.changes:
            return f"{self.market.symbol}: nothing to change."
        text = f"{self.market.symbol} changed: {'; '.join(self.changes)}."
        if self.halted_for_s:
            text += (
                f" Trading was halted for {self.halted_for_s:.1f} s while every server took the"
                " new sizes, and has resumed."
            )
        elif self.market.status == MarketStatus.HALTED:
            text += " The market is halted, as it was: resume it to trade."
        return text + " In force from the next order."


def _validate_market(market: Market) -> None:
    try:
        market.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid market {market.symbol}.",
            code="invalid_market_spec",
            details=exc.message_dict,
        ) from exc
    for asset in (market.base, market.quote):
        if not asset.is_active:
            raise ValidationFailed(
                f"The asset {asset.code} is not active: activate it first.",
                code="invalid_market_spec",
            )


def _refusal(symbol: str, reason: str) -> str:
    """The matcher's refusal of a market command, in the operator's words."""
    if reason == RejectReason.MARKET_NOT_EMPTY:
        return (
            f"The matcher refused: orders rest on the {symbol} book{_resting(symbol)}, and its"
            " tick size and lot size can change only while the book is empty. Nothing was"
            " changed. Halt the market, let its orders be cancelled or filled, then try again."
        )
    if reason == RejectReason.INVALID_MARKET_SPEC:
        return (
            f"The matcher refused the spec of {symbol} as invalid (tick size x lot size must be"
            " a whole number of quote atoms, fee rates below 1, and an asset's decimals the same"
            " in every market). Nothing was changed."
        )
    if reason == RejectReason.MARKET_EXISTS:
        return (
            f"The matcher already has a market {symbol} (its row may be on its way from the"
            " persister): reload the market list."
        )
    if reason == RejectReason.UNKNOWN_MARKET:
        return (
            f"The matcher does not have {symbol} yet (its addition may still be queued)."
            " Nothing was changed."
        )
    return f"The matcher refused the change of {symbol}: {reason.replace('_', ' ')}."


def _resting(symbol: str) -> str:
    """ " (N open)": the orders on the book as recorded once the refused command is (and so
    every order placed before it); empty if the persister is too far behind to say."""
    try:
        await_recorded(SYSTEM_WRITER)
    except Unavailable:
        return ""
    count = Order.objects.filter(market__symbol=symbol, status__in=OPEN_STATUSES).count()
    return f" ({count} open)"


def _market_command(symbol: str, cmd: Command) -> None:
    """Send an operator's market command and wait for the matcher's answer; a refusal raises
    with the reason in words (the engine's code as the error's code)."""
    sent = matcher().send(_shard(symbol), cmd, user=SYSTEM_WRITER)
    if sent.events is None:
        raise Unavailable(
            f"The matcher for {symbol} did not answer; the change is queued in its command log"
            " and applies when it runs (the market list shows it then).",
            code="matcher_unavailable",
        )
    reason = rejection(sent.events, -1)
    if reason is not None:
        raise ValidationFailed(_refusal(symbol, reason), code=reason)


def _await_row(symbol: str, attempts: int = 1) -> Market:
    """The market's row once the persister has recorded the operators' last command (halts and
    changes are all sent as SYSTEM_WRITER), and so everything the matcher applied before it;
    trying ``attempts`` times READ_YOUR_WRITES_TIMEOUT."""
    for attempt in range(attempts):
        try:
            await_recorded(SYSTEM_WRITER)
            break
        except Unavailable as exc:
            if exc.code != "writes_not_persisted":
                raise
            if attempt + 1 == attempts:
                raise Unavailable(
                    f"The matcher applied the change of {symbol}, but the persister has not"
                    " recorded it yet (it is behind or down): the market list shows it once it"
                    " has.",
                    code="writes_not_persisted",
                    retry_after=1,
                ) from None
    return Market.objects.select_related("base", "quote").get(symbol=symbol)


def market_add(
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
    """List a new market on a running venue: validate, have its matcher add it, and return its
    row once the persister has written it. Tradable from the next order on, in every process
    (a market not listed yet is never cached)."""
    market = Market(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick_size,
        lot_size=lot_size,
        min_notional=min_notional,
        maker_fee_rate=maker_fee_rate,
        taker_fee_rate=taker_fee_rate,
        status=MarketStatus.TRADING,
    )
    _validate_market(market)
    _market_command(symbol, AddMarket(new_command_id(), now_ns(), market_spec(market)))
    return _await_row(symbol)


def market_change(
    market: Market,
    *,
    tick_size: Decimal,
    lot_size: Decimal,
    min_notional: Decimal,
    maker_fee_rate: Decimal,
    taker_fee_rate: Decimal,
) -> MarketChanged:
    """Change a listed market's sizes, minimum notional or fees through its matcher.

    Fees are the engine's alone: in force from the next order once applied. A minimum notional
    is also checked by every web process before it sends an order, so the change is reported
    done once they have all read it (``rules_drain_s``). Tick and lot size convert prices and
    quantities into the engine's integers in every process: see ``_change_units``."""
    # The row as of the operators' last command: its status is the engine's (a trade applied
    # but not recorded yet is caught after the update, ``_change_units``).
    market = _await_row(market.symbol)
    proposed = Market.objects.select_related("base", "quote").get(pk=market.pk)  # unsaved
    proposed.tick_size, proposed.lot_size, proposed.min_notional = tick_size, lot_size, min_notional
    proposed.maker_fee_rate, proposed.taker_fee_rate = maker_fee_rate, taker_fee_rate
    _validate_market(proposed)
    old, new = market_spec(market), market_spec(proposed)
    changes = _spec_changes(old, new)
    if not changes:
        return MarketChanged(market, ())
    if (new.tick_size, new.lot_size) != (old.tick_size, old.lot_size):
        return _change_units(market, old, new, changes)
    _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), new))
    market = _await_row(market.symbol)
    if new.min_notional != old.min_notional:
        time.sleep(rules_drain_s())
    return MarketChanged(market, changes)


def _change_units(
    market: Market, old: MarketSpec, new: MarketSpec, changes: tuple[str, ...]
) -> MarketChanged:
    """A tick or lot size change, which the engine accepts only while the book is empty.

    Every web process converts an order's price and quantity with the sizes it has cached,
    for up to a TTL after the row changed: an order converted with the old sizes and matched
    with the new ones would trade at a wrong price. So the change halts the market in the same
    command (UpdateMarket with status halted: refused, it changes nothing), waits until no
    process can still send such an order (``units_drain_s``), then resumes it if it was
    trading. Orders meanwhile are refused ``market_halted``.

    A market that has traded keeps its sizes: its trades, candles and the publisher's state
    are in them (list a new market instead)."""
    if Trade.objects.filter(market=market).exists():
        raise ValidationFailed(_traded(market.symbol), code="market_has_traded")
    was_trading = old.status is EngineMarketStatus.TRADING
    halted = replace(new, status=EngineMarketStatus.HALTED)
    _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), halted))
    started = time.monotonic()
    try:
        # Longer than a read may wait: resuming before the new sizes are in the row is unsafe.
        _await_row(market.symbol, attempts=10)
    except Unavailable as exc:
        raise Unavailable(
            f"{exc.message} {market.symbol} stays halted: resume it once the market list shows"
            f" the new sizes, and no sooner than {math.ceil(units_drain_s())} s after.",
            code=exc.code,
            retry_after=exc.retry_after,
        ) from None
    if Trade.objects.filter(market=market).exists():
        # A trade the matcher applied between the check above and the change: put the sizes
        # back (the market has been halted since, so nothing traded at the new ones).
        restore = replace(old, status=EngineMarketStatus.HALTED)
        _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), restore))
        _await_row(market.symbol, attempts=10)
        if was_trading:
            market_set_status(market, MarketStatus.TRADING)
        raise ValidationFailed(_traded(market.symbol), code="market_has_traded")
    time.sleep(units_drain_s())
    if was_trading:
        market = market_set_status(market, MarketStatus.TRADING)
    else:
        market.refresh_from_db()
    return MarketChanged(market, changes, time.monotonic() - started if was_trading else 0.0)


def _traded(symbol: str) -> str:
    return (
        f"{symbol} has traded: its tick size and lot size cannot change any more (its trades"
        " and candles are in them). List a new market with the new sizes instead. Nothing was"
        " changed."
    )


_SPEC_FIELDS = (
    ("tick_size", "tick size"),
    ("lot_size", "lot size"),
    ("min_notional", "minimum notional"),
    ("maker_fee_rate", "maker fee rate"),
    ("taker_fee_rate", "taker fee rate"),
)


def _spec_changes(old: MarketSpec, new: MarketSpec) -> tuple[str, ...]:
    return tuple(
        f"{label} {plain(getattr(old, name))} -> {plain(getattr(new, name))}"
        for name, label in _SPEC_FIELDS
        if getattr(old, name) != getattr(new, name)
    )


def market_set_status(market: Market, status: str) -> Market:
    """Halt or resume trading: a command to the market's matcher, which owns market state.

    Applied, it holds from the next order on (the engine refuses orders in a halted market,
    ``market_halted``; cancels still work). The persister then writes Market.status from the
    engine's event; this waits for it, so the caller (the admin) sees the new status. No answer
    from the matcher: 503, and the command stays queued (it applies when the matcher runs).
    Applied but the persister behind past the read-your-writes timeout: 503
    ``writes_not_persisted`` (the engine has the new status).
    """
    if status not in MarketStatus.values:
        raise ValidationFailed(f"Unknown market status {status!r}.", code="invalid_status")
    cmd = SetMarketStatus(new_command_id(), now_ns(), market.symbol, EngineMarketStatus(status))
    _market_command(market.symbol, cmd)
    await_recorded(SYSTEM_WRITER, own_only=True)  # 503 writes_not_persisted if it is behind
    market.refresh_from_db(fields=["status"])
    return market


# --- Orders -------------------------------------------------------------------------------------


def market_of(symbol: str) -> tuple[int, MarketSpec]:
    """(market id, spec) of a listed market; 400 ``unknown_market`` otherwise."""
    market_id, spec, _, _ = _market_entry(symbol).value
    return market_id, spec


def _market_entry(symbol: str) -> MarketEntry:
    try:
        return cached_market.entry(symbol)
    except Market.DoesNotExist:
        raise ValidationFailed(
            f"Unknown market {symbol!r}.", code="unknown_market", details={"field": "symbol"}
        ) from None


def _check_sizes_still(symbol: str, entry: MarketEntry) -> None:
    """Before sending an order converted with ``entry``'s sizes: if the entry is older than a
    command built from it may be sent (trading/specs.py, ``units_drain_s``; a request that
    waited, for funds moved between shards say), read the row again and refuse the order if
    its tick or lot size changed meanwhile."""
    if entry.sendable:
        return
    spec, now = entry.value[1], _market_entry(symbol).value[1]
    if (now.tick_size, now.lot_size) != (spec.tick_size, spec.lot_size):
        raise Conflict(
            f"The tick size or lot size of {symbol} changed while the order was prepared;"
            " nothing was sent. Send it again.",
            code="market_changed",
        )


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
) -> tuple[MarketEntry, MarketSpec, MarketUnits, tuple[int | None, int | None, int | None]]:
    """Everything checked without the engine (market, combination, grid, notional): the
    market's cache entry, spec and units, and the order's (ticks, lots, quote atoms)."""
    entry = _market_entry(req.symbol)
    spec = entry.value[1]
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
    return entry, spec, units, (ticks, lots, quote)


def order_check(req: OrderRequest) -> MarketSpec:
    """Validate an order as ``order_place`` does, without sending it (Binance's
    ``POST /api/v3/order/test``); raises the same refusals. The engine's own checks (funds,
    the book) are not made."""
    return _validated(req)[1]


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
    entry, spec, units, (ticks, lots, quote) = _validated(req)
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
    _check_sizes_still(req.symbol, entry)
    sent = _send(shard, cmd, rate, key_check, user=user_id, pending_order=(order_id, placeholder))
    if sent.events is None:
        return order, False
    reason = rejection(sent.events, order_id)
    if reason is not None:
        apply_rejection(order, reason)
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
    """Clear a shard's persistence halt (pipeline/persister.py): its persister tries the halted
    event again within a second, and halts again, with the new error, if it still fails.
    ``python manage.py resume_persister`` does the same after trying the event itself first."""
    if checkpoint.halted_at is None:
        raise ValidationFailed(f"Persistence of {checkpoint.stream} is not halted.")
    EventCheckpoint.objects.filter(pk=checkpoint.pk).update(
        halted_at=None, halted_seq=None, halted_entry="", halt_reason=""
    )
    checkpoint.refresh_from_db()
    return checkpoint
