"""An order checked without the engine: its market, field combination, grid and notional.

Everything here is decided from the market's cached spec (trading/specs.py), so nothing
malformed reaches the matcher; the engine then decides funds, matching and everything that
depends on the book. No I/O but the spec cache's.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from common.errors import Conflict, Unavailable, ValidationFailed
from matching.arith import (
    MarketUnits,
    OffGrid,
    amount_to_atoms,
    atoms_to_amount,
    compile_market,
    notional_atoms,
    price_to_ticks,
    quantity_to_lots,
)
from matching.types import MarketSpec, OrderType, Side, TimeInForce
from pipeline.client import now_ns, shard_map
from trading.models import CONDITIONAL_TYPES, PRICED_TYPES, Market
from trading.orders import OrderRequest
from trading.specs import MarketEntry, cached_market

# An order's amounts in the engine's integers: (price ticks, quantity lots, quote atoms).
Amounts = tuple[int | None, int | None, int | None]
# Its (stop price ticks, iceberg lots), for the types that have them.
Triggers = tuple[int | None, int | None]
NS_PER_MS = 1_000_000
MARKET_VARIANTS = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})


def market_of(symbol: str) -> tuple[int, MarketSpec]:
    """(market id, spec) of a listed market; 400 ``unknown_market`` otherwise."""
    market_id, spec, _, _ = market_entry(symbol).value
    return market_id, spec


def market_entry(symbol: str) -> MarketEntry:
    try:
        return cached_market.entry(symbol)
    except Market.DoesNotExist:
        raise ValidationFailed(
            f"Unknown market {symbol!r}.", code="unknown_market", details={"field": "symbol"}
        ) from None


def check_sizes_still(symbol: str, entry: MarketEntry) -> None:
    """Before sending an order converted with ``entry``'s sizes: if the entry is older than a
    command built from it may be sent (trading/specs.py, ``units_drain_s``; a request that
    waited, for funds moved between shards say), read the row again and refuse the order if
    its tick or lot size changed meanwhile."""
    if entry.sendable:
        return
    spec, now = entry.value[1], market_entry(symbol).value[1]
    if (now.tick_size, now.lot_size) != (spec.tick_size, spec.lot_size):
        raise Conflict(
            f"The tick size or lot size of {symbol} changed while the order was prepared;"
            " nothing was sent. Send it again.",
            code="market_changed",
        )


def shard_of(symbol: str) -> str:
    """The matcher shard that owns ``symbol``; 503 ``market_unavailable`` if none does."""
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
    """The field combinations the engine accepts, refused here with a precise message
    (docs/order-types.md for the conditional types, icebergs and GTD)."""
    problem = _size_problem(req) or _tif_problem(req) or _trigger_problem(req)
    if problem:
        raise ValidationFailed(problem, code="invalid_request")
    _check_expire_time(req)


def _size_problem(req: OrderRequest) -> str | None:
    kind = req.type
    if kind in PRICED_TYPES:
        if req.price is None or req.quantity is None:
            return f"A {kind} order needs price and quantity."
        if req.quote_quantity is not None:
            return "quote_quantity is for market buys only."
        return None
    if req.price is not None:
        return f"A {kind} order has no price."
    if req.side is Side.SELL and (req.quantity is None or req.quote_quantity is not None):
        return f"A {kind} sell needs quantity (and no quote_quantity)."
    if req.side is Side.BUY and (req.quantity is None) == (req.quote_quantity is None):
        return f"A {kind} buy needs exactly one of quantity and quote_quantity."
    return None


def _tif_problem(req: OrderRequest) -> str | None:
    kind, tif = req.type, req.time_in_force
    if kind is OrderType.MARKET:
        if tif is not TimeInForce.IOC:
            return "A market order is IOC (it never rests): omit time_in_force or send IOC."
        if req.post_only:
            return "post_only is for limit orders only."
    elif kind in MARKET_VARIANTS:
        # It waits untriggered, then never rests: good till cancelled, or till expire_time.
        if tif not in (TimeInForce.GTC, TimeInForce.GTD):
            return f"A {kind} order waits until triggered: time_in_force GTC (default) or GTD."
    if req.post_only and kind in CONDITIONAL_TYPES:
        return "post_only is not taken on conditional orders."
    if req.post_only and tif not in (TimeInForce.GTC, TimeInForce.GTD):
        return "post_only needs time_in_force GTC or GTD."
    if req.iceberg_quantity is not None and (
        kind not in PRICED_TYPES or tif not in (TimeInForce.GTC, TimeInForce.GTD)
    ):
        return "iceberg_quantity is for limit orders that rest: GTC or GTD."
    return None


def _trigger_problem(req: OrderRequest) -> str | None:
    kind = req.type
    has_stop, has_trailing = req.stop_price is not None, req.trailing_delta is not None
    if kind not in CONDITIONAL_TYPES:
        if has_stop or has_trailing:
            return "stop_price and trailing_delta are for stop and take-profit orders."
        return None
    if kind in (OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT):
        if has_trailing:
            return "trailing_delta is for stop_market and stop_limit orders."
        if not has_stop:
            return f"A {kind} order needs stop_price."
        return None
    if has_stop == has_trailing:
        return f"A {kind} order needs exactly one of stop_price and trailing_delta."
    return None


def _check_expire_time(req: OrderRequest) -> None:
    gtd = req.time_in_force is TimeInForce.GTD
    problem = None
    if gtd and req.expire_time is None:
        problem = "time_in_force GTD needs expire_time (unix ms)."
    elif not gtd and req.expire_time is not None:
        problem = "expire_time is for time_in_force GTD only."
    elif req.expire_time is not None and req.expire_time <= now_ns() // NS_PER_MS:
        problem = "expire_time must be in the future."
    if problem:
        raise ValidationFailed(
            problem, code="invalid_expire_time", details={"field": "expire_time"}
        )


def validated(
    req: OrderRequest,
) -> tuple[MarketEntry, MarketSpec, MarketUnits, Amounts, Triggers]:
    """Everything checked without the engine (market, combination, grid, notional): the
    market's cache entry, spec and units, the order's (ticks, lots, quote atoms) and its
    (stop price ticks, iceberg lots)."""
    entry = market_entry(req.symbol)
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
    stop = (
        None
        if req.stop_price is None
        else _on_grid("stop_price", price_to_ticks, spec, req.stop_price)
    )
    iceberg = (
        None
        if req.iceberg_quantity is None
        else _on_grid("iceberg_quantity", quantity_to_lots, spec, req.iceberg_quantity)
    )
    if iceberg is not None and lots is not None and iceberg >= lots:
        raise ValidationFailed(
            "iceberg_quantity must be less than quantity.",
            code="invalid_request",
            details={"field": "iceberg_quantity"},
        )
    units = _units(spec)
    check_notional(spec, units, notional_atoms(units, ticks, lots) if ticks and lots else quote)
    return entry, spec, units, (ticks, lots, quote), (stop, iceberg)


def check_notional(spec: MarketSpec, units: MarketUnits, notional: int | None) -> None:
    """Refuse a notional (quote atoms; None: not known before matching) out of bounds."""
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


def amend_units(
    symbol: str, price: Decimal | None, quantity: Decimal | None
) -> tuple[MarketSpec, int | None, int | None]:
    """An amend's market spec and new (price ticks, quantity lots), on the market's grid."""
    spec = market_entry(symbol).value[1]
    if price is None and quantity is None:
        raise ValidationFailed("Give price or quantity (or both).", code="invalid_request")
    ticks = None if price is None else _on_grid("price", price_to_ticks, spec, price)
    lots = None if quantity is None else _on_grid("quantity", quantity_to_lots, spec, quantity)
    return spec, ticks, lots


def order_check(req: OrderRequest) -> MarketSpec:
    """Validate an order as ``order_place`` does (trading.services.placement), without sending
    it (Binance's ``POST /api/v3/order/test``); raises the same refusals. The engine's own
    checks (funds, the book) are not made."""
    return validated(req)[1]
