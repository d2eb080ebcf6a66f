"""The JSON shapes of market data, shared by REST and the WebSocket streams.

Plain functions over engine integers or stored rows: the hot path (the publisher) builds each
message once, so DRF serializer machinery would only cost time. Numbers are decimal strings at
the market's precision (``marketdata.formatting``), times are unix ms, and no shape carries a
user id except the private ``orders``/``balances`` messages, which go to that user only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers as drf

from common.clock import datetime_to_ms
from common.serializers import DecimalString
from marketdata.aggregation import Candle, TickerStats, close_time, percent_change
from marketdata.formatting import Fmt

Level = tuple[int, int]


def levels(fmt: Fmt, side: Sequence[Level]) -> list[list[str]]:
    return [[fmt.ticks(price), fmt.lots(lots)] for price, lots in side]


def depth_snapshot(
    symbol: str, fmt: Fmt, last_update_id: int, bids: Sequence[Level], asks: Sequence[Level]
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "last_update_id": last_update_id,
        "bids": levels(fmt, bids),
        "asks": levels(fmt, asks),
    }


def rest_trade(
    fmt: Fmt,
    trade_id: int,
    price: Decimal,
    quantity: Decimal,
    quote_quantity: Decimal,
    executed_at: datetime,
    taker_side: str,
) -> dict[str, Any]:
    return {
        "id": trade_id,
        "price": fmt.price(price),
        "quantity": fmt.qty(quantity),
        "quote_quantity": fmt.quote(quote_quantity),
        "time": datetime_to_ms(executed_at),
        # the taker sold, so the resting buyer was the maker
        "is_buyer_maker": taker_side == "sell",
    }


def rest_kline(fmt: Fmt, interval: str, candle: Candle) -> dict[str, Any]:
    return {
        "open_time": candle.open_time,
        "close_time": close_time(interval, candle.open_time),
        "open": fmt.ticks(candle.open),
        "high": fmt.ticks(candle.high),
        "low": fmt.ticks(candle.low),
        "close": fmt.ticks(candle.close),
        "volume": fmt.lots(candle.volume),
        "quote_volume": fmt.quote_atoms(candle.quote_volume),
        "trades": candle.trades,
    }


def ticker(
    symbol: str, fmt: Fmt, stats: TickerStats, best_bid: int | None, best_ask: int | None
) -> dict[str, Any]:
    def price(ticks: int | None) -> str | None:
        return None if ticks is None else fmt.ticks(ticks)

    change = stats.change
    return {
        "symbol": symbol,
        "last_price": price(stats.last),
        "open_price": price(stats.open),
        "high": price(stats.high),
        "low": price(stats.low),
        "price_change": None
        if change is None
        else ("-" + fmt.ticks(-change) if change < 0 else fmt.ticks(change)),
        "price_change_percent": percent_change(stats.open, stats.last),
        "volume": fmt.lots(stats.volume),
        "quote_volume": fmt.quote_atoms(stats.quote_volume),
        "trades": stats.trades,
        "best_bid": price(best_bid),
        "best_ask": price(best_ask),
        "open_time": stats.open_time,
        "close_time": stats.close_time,
    }


# --- The same shapes for the OpenAPI schema (marketdata/apis.py) --------------------------------
# (the functions above build the responses; these only document them)
def _levels(help_text: str) -> drf.ListField:
    level = drf.ListField(
        child=drf.CharField(), min_length=2, max_length=2, help_text="[price, quantity]"
    )
    return drf.ListField(child=level, help_text=help_text)


class DepthOutputSerializer(drf.Serializer):
    symbol = drf.CharField()
    last_update_id = drf.IntegerField(help_text="Lines up with U/u of depth.<SYMBOL>.")
    bids = _levels("Highest first.")
    asks = _levels("Lowest first.")


class PublicTradeOutputSerializer(drf.Serializer):
    id = drf.IntegerField(help_text="The engine's trade id, sequential per market.")
    price = DecimalString()
    quantity = DecimalString()
    quote_quantity = DecimalString()
    time = drf.IntegerField(help_text="Unix time, ms.")
    is_buyer_maker = drf.BooleanField()


class KlineOutputSerializer(drf.Serializer):
    open_time = drf.IntegerField(help_text="Unix time, ms.")
    close_time = drf.IntegerField(help_text="open_time + interval - 1 ms.")
    open = DecimalString()
    high = DecimalString()
    low = DecimalString()
    close = DecimalString()
    volume = DecimalString()
    quote_volume = DecimalString()
    trades = drf.IntegerField()


def ticker_schema() -> dict[str, Any]:
    """One ticker (raw OpenAPI: ``GET /tickers`` answers one, or a list without ``symbol``)."""
    money = {"type": "string", "format": "decimal"}
    nullable_money = {**money, "nullable": True}
    return {
        "type": "object",
        "required": [
            "symbol", "last_price", "open_price", "high", "low", "price_change",
            "price_change_percent", "volume", "quote_volume", "trades", "best_bid", "best_ask",
            "open_time", "close_time",
        ],
        "properties": {
            "symbol": {"type": "string"},
            "last_price": nullable_money,
            "open_price": nullable_money,
            "high": nullable_money,
            "low": nullable_money,
            "price_change": nullable_money,
            "price_change_percent": nullable_money,
            "volume": money,
            "quote_volume": money,
            "trades": {"type": "integer"},
            "best_bid": nullable_money,
            "best_ask": nullable_money,
            "open_time": {"type": "integer", "description": "Unix time, ms."},
            "close_time": {"type": "integer", "description": "Unix time, ms."},
        },
    }  # fmt: skip
