"""Market rows -> the engine's MarketSpec, the one bridge between the two descriptions."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import NamedTuple

from matching.arith import fixed
from matching.types import AssetSpec, MarketSpec
from matching.types import MarketStatus as EngineMarketStatus
from trading.models import Market


def market_spec(market: Market) -> MarketSpec:
    return MarketSpec(
        symbol=market.symbol,
        base=AssetSpec(market.base.code, market.base.decimals),
        quote=AssetSpec(market.quote.code, market.quote.decimals),
        tick_size=market.tick_size.normalize(),
        lot_size=market.lot_size.normalize(),
        min_notional=market.min_notional.normalize(),
        maker_fee_rate=market.maker_fee_rate.normalize(),
        taker_fee_rate=market.taker_fee_rate.normalize(),
        status=EngineMarketStatus(market.status),
    )


def market_specs() -> list[MarketSpec]:
    return [market_spec(m) for m in Market.objects.select_related("base", "quote")]


@cache
def cached_market(symbol: str) -> tuple[int, MarketSpec, int, int]:
    """(market id, spec, base asset id, quote asset id) for unit conversions in hot paths.

    Sizes and assets of a market never change while it has orders (the engine refuses), so a
    process-wide cache is safe; fees and status are never read from it.
    """
    market = Market.objects.select_related("base", "quote").get(symbol=symbol)
    return market.pk, market_spec(market), market.base_id, market.quote_id


class Scales(NamedTuple):
    """Engine integers -> the decimal text the persister writes for one market (integer
    arithmetic only, ``matching.arith.fixed``).

    The persister converts several numbers per event; through ``Decimal`` objects that the
    driver formats again, that was a sixth of its CPU. The text is the Decimal of
    ``matching.arith``, digit for digit and place for place (tests/trading/test_specs.py).
    """

    tick_units: int  # tick_size * 10**price_places
    price_places: int
    lot_units: int  # lot_size * 10**qty_places
    qty_places: int
    quote_places: int

    def price(self, ticks: int) -> str:
        return fixed(ticks * self.tick_units, self.price_places)

    def quantity(self, lots: int) -> str:
        return fixed(lots * self.lot_units, self.qty_places)

    def quote(self, atoms: int) -> str:
        return fixed(atoms, self.quote_places)


def unit_scale(unit: Decimal) -> tuple[int, int]:
    """``(units, places)`` with ``unit == units * 10**-places``: ``places`` are the unit's
    decimal places as written (0.010 has 3), ``units`` a whole number."""
    exponent = unit.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return int(unit.scaleb(places)), places


def scales_of(spec: MarketSpec) -> Scales:
    tick_units, price_places = unit_scale(spec.tick_size)
    lot_units, qty_places = unit_scale(spec.lot_size)
    return Scales(tick_units, price_places, lot_units, qty_places, spec.quote.decimals)


def cached_scales(symbol: str) -> Scales:
    """The scales of ``cached_market(symbol)``'s spec: keyed by the spec itself, so they can
    never disagree with it (a test that clears ``cached_market`` clears these too)."""
    return _scales_of_spec(cached_market(symbol)[1])


_scales_of_spec = cache(scales_of)
