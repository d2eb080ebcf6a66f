"""Market rows -> the engine's MarketSpec, the one bridge between the two descriptions."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import NamedTuple

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
    """Engine integers -> Decimals for one market, by integer arithmetic only.

    ``matching.arith`` converts through ``Fraction`` (general, and the reference); the
    persister converts several numbers per event, and that was a sixth of its CPU. The result
    is the same Decimal, digit for digit and exponent for exponent (tests/trading/test_specs.py).
    """

    tick_units: int  # tick_size * 10**price_places
    price_places: int
    lot_units: int  # lot_size * 10**qty_places
    qty_places: int
    quote_places: int

    def price(self, ticks: int) -> Decimal:
        return Decimal(f"{ticks * self.tick_units}E-{self.price_places}")

    def quantity(self, lots: int) -> Decimal:
        return Decimal(f"{lots * self.lot_units}E-{self.qty_places}")

    def quote(self, atoms: int) -> Decimal:
        return Decimal(f"{atoms}E-{self.quote_places}")


def _places(unit: Decimal) -> int:
    exponent = unit.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def scales_of(spec: MarketSpec) -> Scales:
    price_places, qty_places = _places(spec.tick_size), _places(spec.lot_size)
    return Scales(
        int(spec.tick_size.scaleb(price_places)),
        price_places,
        int(spec.lot_size.scaleb(qty_places)),
        qty_places,
        spec.quote.decimals,
    )


@cache
def cached_scales(symbol: str) -> Scales:
    return scales_of(cached_market(symbol)[1])
