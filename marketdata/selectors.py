"""Reads for the market-data API. Depth comes from the matcher's live book in Redis (written in the
same transaction as each events batch), history from Postgres projections, tickers from stored
1m/1h candles (at most ~143 rows per market, never all trades)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Q

from common.clock import ms_to_datetime
from marketdata.aggregation import Candle, TickerStats, ticker, window_parts, window_start
from marketdata.formatting import Fmt
from marketdata.models import Kline, KlineInterval
from marketdata.projections import candle_of
from matching.arith import price_to_ticks
from matching.engine import Depth
from matching.types import MarketSpec
from pipeline.client import matcher
from trading.models import Market, Trade
from trading.specs import cached_market


class UnknownSymbol(LookupError):
    pass


def market(symbol: str) -> tuple[int, MarketSpec]:
    try:
        market_id, spec, _, _ = cached_market(symbol)
    except Market.DoesNotExist:
        raise UnknownSymbol(symbol) from None
    return market_id, spec


def symbols() -> list[str]:
    return list(Market.objects.order_by("symbol").values_list("symbol", flat=True))


def depth(symbol: str) -> Depth:
    """The live book (top 1000 levels per side) as of the matcher's last batch."""
    book = matcher().depth(symbol)
    return book if book is not None else Depth(symbol, 0, [], [])


def recent_trades(
    market_id: int, limit: int
) -> list[tuple[int, object, object, object, datetime, str]]:
    rows = (
        Trade.objects.filter(market_id=market_id)
        .order_by("-trade_id")
        .values_list(
            "trade_id", "price", "quantity", "quote_quantity", "executed_at", "taker_side"
        )[:limit]
    )
    return list(rows)


def klines(
    market_id: int,
    spec: MarketSpec,
    interval: str,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[Candle]:
    """Oldest first. With a start: the first ``limit`` from it; otherwise the last ``limit``."""
    rows = Kline.objects.filter(market_id=market_id, interval=interval)
    if start_ms is not None:
        rows = rows.filter(open_time__gte=ms_to_datetime(start_ms))
    if end_ms is not None:
        rows = rows.filter(open_time__lte=ms_to_datetime(end_ms))
    if start_ms is not None:
        picked = list(rows.order_by("open_time")[:limit])
    else:
        picked = list(rows.order_by("-open_time")[:limit])[::-1]
    return [candle_of(row, spec) for row in picked]


def _window_filter(now_ms: int) -> Q:
    (a, b), (c, d), (e, f) = window_parts(now_ms)
    q = Q()
    for interval, lo, hi in (
        (KlineInterval.M1, a, b),
        (KlineInterval.H1, c, d),
        (KlineInterval.M1, e, f),
    ):
        if lo < hi:
            q |= Q(
                interval=interval,
                open_time__gte=ms_to_datetime(lo),
                open_time__lt=ms_to_datetime(hi),
            )
    return q


def window_candles(
    market_ids: list[int], now_ms: int, specs: dict[int, MarketSpec]
) -> dict[int, list[Candle]]:
    rows = Kline.objects.filter(market_id__in=market_ids).filter(_window_filter(now_ms))
    out: dict[int, list[Candle]] = defaultdict(list)
    for row in rows:
        out[row.market_id].append(candle_of(row, specs[row.market_id]))
    return out


def last_close_before(market_id: int, spec: MarketSpec, before_ms: int) -> int | None:
    row = (
        Kline.objects.filter(
            market_id=market_id, interval=KlineInterval.M1, open_time__lt=ms_to_datetime(before_ms)
        )
        .order_by("-open_time")
        .values_list("close", flat=True)
        .first()
    )
    return None if row is None else price_to_ticks(spec, row)


def tickers(symbols_: list[str], now_ms: int) -> list[tuple[str, MarketSpec, TickerStats, Depth]]:
    found = [(s, *market(s)) for s in symbols_]
    specs = {market_id: spec for _, market_id, spec in found}
    candles = window_candles(list(specs), now_ms, specs)
    out = []
    for symbol, market_id, spec in found:
        mine = candles.get(market_id, [])
        before = None if mine else last_close_before(market_id, spec, window_start(now_ms))
        out.append((symbol, spec, ticker(mine, now_ms, before), depth(symbol)))
    return out


def last_prices(symbols_: list[str]) -> dict[str, str | None]:
    """Each market's last trade price at its tick's places (None if it never traded): one
    indexed row per market (trade_unique_per_market), for the header of every page."""
    out: dict[str, str | None] = {}
    for symbol in symbols_:
        market_id, spec = market(symbol)
        price = (
            Trade.objects.filter(market_id=market_id)
            .order_by("-trade_id")
            .values_list("price", flat=True)
            .first()
        )
        out[symbol] = None if price is None else Fmt.of(spec).price(price)
    return out
