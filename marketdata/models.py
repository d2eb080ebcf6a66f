"""Candles, aggregated from trades (marketdata/aggregation.py, issue 5)."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import MONEY_PLACES, money_field
from trading.models import Market

# A candle's volumes add up its trades, so they are not bounded like one amount (below 10**19
# units, matching/arith.py): at most 2**63 trades (trade ids are bigints) of at most 10**19
# units each is below 10**38, hence 38 digits before the point.
VOLUME_DIGITS = 38 + MONEY_PLACES


def volume_field(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=VOLUME_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class KlineInterval(models.TextChoices):
    M1 = "1m", "1 minute"
    M3 = "3m", "3 minutes"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    M30 = "30m", "30 minutes"
    H1 = "1h", "1 hour"
    H2 = "2h", "2 hours"
    H4 = "4h", "4 hours"
    H6 = "6h", "6 hours"
    H12 = "12h", "12 hours"
    D1 = "1d", "1 day"
    W1 = "1w", "1 week"


class Kline(models.Model):
    # kline_unique_open_time starts with market and is read backwards for the newest candles:
    # no other index (the persister writes candles on every trade).
    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="klines", db_index=False
    )
    interval = models.CharField(max_length=8, choices=KlineInterval.choices)
    open_time = models.DateTimeField()
    close_time = models.DateTimeField()
    open = money_field()
    high = money_field()
    low = money_field()
    close = money_field()
    volume = volume_field(default=0)
    quote_volume = volume_field(default=0)
    trade_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["market", "interval", "open_time"], name="kline_unique_open_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.market_id} {self.interval} {self.open_time:%Y-%m-%d %H:%M}"
