"""Market rows -> the engine's MarketSpec, the one bridge between the two descriptions."""

from __future__ import annotations

from functools import cache

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
