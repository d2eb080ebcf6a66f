"""An order checked without the engine: its market, field combination, grid and notional.

Everything here is decided from the market's cached spec (trading/specs.py), so nothing
malformed reaches the matcher; the engine then decides funds, matching and everything that
depends on the book. No I/O but the spec cache's.
"""

from __future__ import annotations

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
from pipeline.client import shard_map
from trading.models import Market
from trading.orders import OrderRequest
from trading.specs import MarketEntry, cached_market

# An order's amounts in the engine's integers: (price ticks, quantity lots, quote atoms).
Amounts = tuple[int | None, int | None, int | None]


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


def validated(
    req: OrderRequest,
) -> tuple[MarketEntry, MarketSpec, MarketUnits, Amounts]:
    """Everything checked without the engine (market, combination, grid, notional): the
    market's cache entry, spec and units, and the order's (ticks, lots, quote atoms)."""
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
    """Validate an order as ``order_place`` does (trading.services.placement), without sending
    it (Binance's ``POST /api/v3/order/test``); raises the same refusals. The engine's own
    checks (funds, the book) are not made."""
    return validated(req)[1]
