"""Binance's public spot endpoints under /api/v3, over the market-data selectors /api/v1 uses.

Numbers are the exact decimal strings the native API writes (prices at the tick's places,
quantities at the lot's, quote amounts at the quote asset's); arrays are oldest first, as
Binance returns them. What we do not record is said plainly: a kline's taker-buy volumes are
``null`` (candles do not split volume by taker side), and every trade is its own aggregate
trade (``f`` = ``l``).
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from binance_compat import selectors
from binance_compat.apis import BinanceApi, now_ms
from binance_compat.auth import params_of
from binance_compat.errors import BinanceError
from binance_compat.params import Params
from binance_compat.symbols import symbols
from common.clock import MAX_MS, datetime_to_ms
from marketdata import selectors as md
from marketdata.aggregation import INTERVAL_MS, close_time, window_start
from marketdata.formatting import Fmt
from marketdata.serializers import percent_change
from matching.arith import compile_market
from trading.specs import cached_market

DEPTH_MAX = 1000  # the matcher publishes the top 1000 levels per side


class PublicApi(BinanceApi):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


def _symbol(params: Params) -> tuple[str, str, int, Fmt]:
    symbol, native = params.symbol()  # type: ignore[misc]
    market_id, spec, _, _ = cached_market(native)
    return symbol, native, market_id, Fmt.of(spec)


def _time(params: Params, name: str) -> int | None:
    return params.long(name, lo=0, hi=MAX_MS)


def _one_or_many(params: Params) -> tuple[list[tuple[str, str]], bool]:
    """(the markets asked for, whether one ``symbol`` was asked: answer an object)."""
    if params.values.get("symbol") is not None and params.values.get("symbols") is not None:
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    one = params.symbol(required=False)
    if one is not None:
        return [one], True
    many = params.symbol_list()
    if many is not None:
        return many, False
    return sorted(symbols.listed().items()), False


class PingApi(PublicApi):
    def get(self, request: Request) -> Response:
        return Response({})


class TimeApi(PublicApi):
    def get(self, request: Request) -> Response:
        return Response({"serverTime": now_ms()})


class ExchangeInfoApi(PublicApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        wanted, _ = _one_or_many(params)
        rows = selectors.markets([native for _, native in wanted])
        rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
        return Response(
            {
                "timezone": "UTC",
                "serverTime": now_ms(),
                "rateLimits": [
                    _rate("RAW_REQUESTS", rates["user"]),
                    _rate("ORDERS", rates["orders"]),
                ],
                "exchangeFilters": [],
                "symbols": [
                    _symbol_info(m) for m in rows if symbols.binance(m.symbol) in dict(wanted)
                ],
            }
        )


def _rate(kind: str, rate: str) -> dict[str, Any]:
    count, _, period = str(rate).partition("/")
    interval = {"s": "SECOND", "m": "MINUTE", "h": "HOUR", "d": "DAY"}[period.strip()[0]]
    return {"rateLimitType": kind, "interval": interval, "intervalNum": 1, "limit": int(count)}


def _symbol_info(market: Any) -> dict[str, Any]:
    _, spec, _, _ = cached_market(market.symbol)
    units = compile_market(spec)
    fmt = Fmt.of(spec)
    tick, lot = fmt.ticks(1), fmt.lots(1)
    min_notional = format(spec.min_notional, "f")
    max_notional = fmt.quote_atoms(units.max_notional_atoms)
    return {
        "symbol": symbols.binance(market.symbol),
        "status": "TRADING" if market.status == "trading" else "HALT",
        "baseAsset": spec.base.code,
        "baseAssetPrecision": spec.base.decimals,
        "quoteAsset": spec.quote.code,
        "quotePrecision": spec.quote.decimals,
        "quoteAssetPrecision": spec.quote.decimals,
        "baseCommissionPrecision": spec.base.decimals,
        "quoteCommissionPrecision": spec.quote.decimals,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": fmt.ticks(units.max_price_ticks),
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": lot,
                "maxQty": fmt.lots(units.max_lots),
                "stepSize": lot,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": lot,
                "maxQty": fmt.lots(units.max_lots),
                "stepSize": lot,
            },
            {
                "filterType": "MIN_NOTIONAL",
                "minNotional": min_notional,
                "applyToMarket": True,
                "avgPriceMins": 0,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": min_notional,
                "applyMinToMarket": True,
                "maxNotional": max_notional,
                "applyMaxToMarket": True,
                "avgPriceMins": 0,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_TAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


class DepthApi(PublicApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        _, native, _, fmt = _symbol(params)
        limit = params.limit(100, DEPTH_MAX)
        book = md.depth(native)
        return Response(
            {
                "lastUpdateId": book.last_update_id,
                "bids": [[fmt.ticks(p), fmt.lots(q)] for p, q in book.bids[:limit]],
                "asks": [[fmt.ticks(p), fmt.lots(q)] for p, q in book.asks[:limit]],
            }
        )


def _trades(params: Params, with_from_id: bool) -> tuple[Fmt, list[Any]]:
    _, _, market_id, fmt = _symbol(params)
    rows = selectors.public_trades(
        market_id,
        from_id=params.long("fromId") if with_from_id else None,
        start_ms=None,
        end_ms=None,
        limit=params.limit(500, 1000),
    )
    return fmt, rows


def _trade(fmt: Fmt, row: Any) -> dict[str, Any]:
    trade_id, price, qty, quote, at, taker_side = row
    return {
        "id": trade_id,
        "price": fmt.price(price),
        "qty": fmt.qty(qty),
        "quoteQty": fmt.quote(quote),
        "time": datetime_to_ms(at),
        "isBuyerMaker": taker_side == "sell",
        "isBestMatch": True,
    }


class TradesApi(PublicApi):
    def get(self, request: Request) -> Response:
        fmt, rows = _trades(params_of(request), with_from_id=False)
        return Response([_trade(fmt, row) for row in rows])


class HistoricalTradesApi(PublicApi):
    """Public here (Binance asks for an API key; there is nothing private in it)."""

    def get(self, request: Request) -> Response:
        fmt, rows = _trades(params_of(request), with_from_id=True)
        return Response([_trade(fmt, row) for row in rows])


class AggTradesApi(PublicApi):
    """Every trade is its own aggregate (``a`` = ``f`` = ``l`` = the trade id)."""

    def get(self, request: Request) -> Response:
        params = params_of(request)
        _, _, market_id, fmt = _symbol(params)
        start, end = _time(params, "startTime"), _time(params, "endTime")
        if start is not None and end is not None and start > end:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        rows = selectors.public_trades(
            market_id,
            from_id=params.long("fromId"),
            start_ms=start,
            end_ms=end,
            limit=params.limit(500, 1000),
        )
        out = []
        for trade_id, price, qty, _, at, taker_side in rows:
            out.append(
                {
                    "a": trade_id,
                    "p": fmt.price(price),
                    "q": fmt.qty(qty),
                    "f": trade_id,
                    "l": trade_id,
                    "T": datetime_to_ms(at),
                    "m": taker_side == "sell",
                    "M": True,
                }
            )
        return Response(out)


class KlinesApi(PublicApi):
    """``[open time, open, high, low, close, volume, close time, quote volume, trades,
    taker buy base volume (null), taker buy quote volume (null), "0"]``."""

    def get(self, request: Request) -> Response:
        params = params_of(request)
        _, _, market_id, fmt = _symbol(params)
        interval = params.text("interval", required=True) or ""
        if interval not in INTERVAL_MS:
            raise BinanceError(-1120, "Invalid interval.")
        zone = params.text("timeZone")
        if zone is not None and zone not in ("0", "+0", "-0", "00:00", "+00:00", "-00:00"):
            raise BinanceError(-1130, "Data sent for parameter 'timeZone' is not valid.")
        start, end = _time(params, "startTime"), _time(params, "endTime")
        if start is not None and end is not None and start > end:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        limit = params.limit(500, 1000)
        candles = md.klines(market_id, fmt.spec, interval, start, end, limit)
        return Response(
            [
                [
                    c.open_time,
                    fmt.ticks(c.open),
                    fmt.ticks(c.high),
                    fmt.ticks(c.low),
                    fmt.ticks(c.close),
                    fmt.lots(c.volume),
                    close_time(interval, c.open_time),
                    fmt.quote_atoms(c.quote_volume),
                    c.trades,
                    None,
                    None,
                    "0",
                ]
                for c in candles
            ]
        )


def _weighted(quote_atoms: int, lots: int, fmt: Fmt) -> str:
    """Quote volume / base volume at the quote's places (half to even): a statistic."""
    if not lots:
        return "0"
    base = Decimal(fmt.lots(lots))
    quote = Decimal(fmt.quote_atoms(quote_atoms))
    with localcontext() as ctx:
        ctx.prec = 80
        value = (quote / base).quantize(Decimal(1).scaleb(-fmt.quote_places), ROUND_HALF_EVEN)
    return format(value, "f")


class Ticker24hrApi(PublicApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        wanted, one = _one_or_many(params)
        mini = params.choice("type", ("FULL", "MINI"), -1139, "Invalid ticker type.") == "MINI"
        out = [_ticker(symbol, native, mini) for symbol, native in wanted]
        return Response(out[0] if one else out)


def _ticker(symbol: str, native: str, mini: bool) -> dict[str, Any]:
    now = time.time_ns() // 1_000_000
    _, spec, stats, book = md.tickers([native], now)[0]
    market_id = cached_market(native)[0]
    fmt = Fmt.of(spec)

    def price(ticks: int | None) -> str:
        return fmt.ticks(ticks) if ticks is not None else fmt.ticks(0)

    base = {
        "symbol": symbol,
        "openPrice": price(stats.open),
        "highPrice": price(stats.high),
        "lowPrice": price(stats.low),
        "lastPrice": price(stats.last),
        "volume": fmt.lots(stats.volume),
        "quoteVolume": fmt.quote_atoms(stats.quote_volume),
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
    }
    last = selectors.last_trade(market_id) if stats.trades else None
    first_id, last_id = (last[0] - stats.trades + 1, last[0]) if last else (-1, -1)
    base.update(firstId=first_id, lastId=last_id, count=stats.trades)
    if mini:
        return base
    change = stats.change or 0
    before = md.last_close_before(market_id, spec, window_start(now))
    bid = book.bids[0] if book.bids else (0, 0)
    ask = book.asks[0] if book.asks else (0, 0)
    return {
        "symbol": symbol,
        "priceChange": ("-" + fmt.ticks(-change)) if change < 0 else fmt.ticks(change),
        "priceChangePercent": percent_change(stats.open, stats.last) or "0",
        "weightedAvgPrice": _weighted(stats.quote_volume, stats.volume, fmt),
        "prevClosePrice": price(before),
        "lastPrice": base["lastPrice"],
        "lastQty": fmt.qty(last[1]) if last else fmt.lots(0),
        "bidPrice": fmt.ticks(bid[0]),
        "bidQty": fmt.lots(bid[1]),
        "askPrice": fmt.ticks(ask[0]),
        "askQty": fmt.lots(ask[1]),
        **{
            k: base[k]
            for k in (
                "openPrice",
                "highPrice",
                "lowPrice",
                "volume",
                "quoteVolume",
                "openTime",
                "closeTime",
                "firstId",
                "lastId",
                "count",
            )
        },
    }


class TickerPriceApi(PublicApi):
    def get(self, request: Request) -> Response:
        wanted, one = _one_or_many(params_of(request))
        last = md.last_prices([native for _, native in wanted])
        out = []
        for symbol, native in wanted:
            value = last.get(native)
            out.append(
                {
                    "symbol": symbol,
                    "price": value
                    if value is not None
                    else Fmt.of(cached_market(native)[1]).ticks(0),
                }
            )
        return Response(out[0] if one else out)


class BookTickerApi(PublicApi):
    def get(self, request: Request) -> Response:
        wanted, one = _one_or_many(params_of(request))
        out = []
        for symbol, native in wanted:
            fmt = Fmt.of(cached_market(native)[1])
            book = md.depth(native)
            bid = book.bids[0] if book.bids else (0, 0)
            ask = book.asks[0] if book.asks else (0, 0)
            out.append(
                {
                    "symbol": symbol,
                    "bidPrice": fmt.ticks(bid[0]),
                    "bidQty": fmt.lots(bid[1]),
                    "askPrice": fmt.ticks(ask[0]),
                    "askQty": fmt.lots(ask[1]),
                }
            )
        return Response(out[0] if one else out)


class AvgPriceApi(PublicApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        _, _, market_id, fmt = _symbol(params)
        value, last_ms = selectors.average_price(market_id, fmt.quote_places, now_ms())
        return Response(
            {"mins": selectors.AVG_PRICE_MINS, "price": value or fmt.ticks(0), "closeTime": last_ms}
        )


class NotFoundApi(PublicApi):
    """Any other path under /api/v3: Binance's body, not the native one."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise BinanceError(-1020, "This operation is not supported.", 404)

    post = put = delete = get
