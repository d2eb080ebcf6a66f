from __future__ import annotations

from django.db.models import QuerySet

from exchange_site.errors import NotFound
from trading.models import Market


def market_list() -> QuerySet[Market]:
    return Market.objects.select_related("base", "quote").order_by("symbol")


def market_get(symbol: str) -> Market:
    try:
        return market_list().get(symbol=symbol)
    except Market.DoesNotExist:
        raise NotFound(f"Unknown market {symbol!r}.", code="unknown_market") from None
