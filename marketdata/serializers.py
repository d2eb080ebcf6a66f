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

from exchange_site.clock import datetime_to_ms
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
