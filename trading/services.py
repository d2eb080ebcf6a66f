"""Writes for the trading app. Orders and trades are not written here: the persister projects
them from the matcher's events (trading/projections.py, issue 4)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from accounts.models import Asset
from exchange_site.errors import ValidationFailed
from trading.models import Market, MarketStatus


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
    """Halt or resume trading.

    For now this writes the row. Issue 4 turns it into a matcher command (the engine is the
    single writer of market state); the row then follows the engine's status-changed event.
    """
    if status not in MarketStatus.values:
        raise ValidationFailed(f"Unknown market status {status!r}.", code="invalid_status")
    Market.objects.filter(pk=market.pk).update(status=status)
    market.status = status
    return market
