"""Public market-data endpoints: parse, call a selector, serialize. No authentication needed
(and none attempted: a bad signature header must not break a public read); the default
throttles apply. Bad parameters are 400s with stable codes, never 500s."""

from __future__ import annotations

import re
import time
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.clock import MAX_MS
from common.errors import ValidationFailed
from marketdata import selectors, serializers
from marketdata.aggregation import INTERVAL_ALIASES
from marketdata.formatting import Fmt
from matching.types import MarketSpec
from trading.models import SYMBOL_RE

DEPTH_LIMIT = (100, 1000)  # (default, max): the matcher publishes the top 1000 levels
TRADES_LIMIT = (500, 1000)
KLINES_LIMIT = (500, 1000)
_INT_RE = re.compile(r"^[0-9]{1,15}$")
_SYMBOL = re.compile(SYMBOL_RE.strip("^$"))


def _param(request: Request, *names: str) -> str | None:
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            return value
    return None


def _symbol(request: Request) -> tuple[str, int, MarketSpec]:
    symbol = _param(request, "symbol")
    if not symbol:
        raise ValidationFailed(
            "symbol is required.", code="missing_parameter", details={"parameter": "symbol"}
        )
    return (symbol, *_market(symbol))


def _market(symbol: str) -> tuple[int, MarketSpec]:
    try:
        if not _SYMBOL.fullmatch(symbol):  # no query for what cannot be a symbol
            raise selectors.UnknownSymbol(symbol)
        return selectors.market(symbol)
    except selectors.UnknownSymbol:
        raise ValidationFailed(
            f"Unknown symbol {symbol[:32]!r}.",
            code="unknown_symbol",
            details={"symbol": symbol[:32]},
        ) from None


def _int(request: Request, names: tuple[str, ...], code: str) -> int | None:
    raw = _param(request, *names)
    if raw is None or raw == "":
        return None
    if not _INT_RE.match(raw):
        raise ValidationFailed(
            f"{names[0]} must be a non-negative integer.", code=code, details={names[0]: raw[:32]}
        )
    return int(raw)


def _time(request: Request, names: tuple[str, ...]) -> int | None:
    """Unix ms within 0..MAX_MS (9999-12-31): what a datetime holds."""
    value = _int(request, names, "invalid_time")
    if value is not None and value > MAX_MS:
        raise ValidationFailed(
            f"{names[0]} must be at most {MAX_MS} (9999-12-31).",
            code="invalid_time",
            details={names[0]: str(value), "max": MAX_MS},
        )
    return value


def _limit(request: Request, bounds: tuple[int, int]) -> int:
    default, most = bounds
    limit = _int(request, ("limit",), "invalid_limit")
    if limit is None:
        return default
    if not 1 <= limit <= most:
        raise ValidationFailed(
            f"limit must be between 1 and {most}.", code="invalid_limit", details={"max": most}
        )
    return limit


SYMBOL = OpenApiParameter(
    "symbol", OpenApiTypes.STR, required=True, pattern=SYMBOL_RE, description="e.g. SOL_USDC"
)


def _limit_parameter(bounds: tuple[int, int]) -> OpenApiParameter:
    default, most = bounds
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": most, "default": default},
        description=f"1-{most}, default {default}.",
    )


def _time_parameter(name: str, alias: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "integer", "minimum": 0, "maximum": MAX_MS},
        description=f"Unix time, ms (alias {alias}).",
    )


_ERRORS = {
    400: OpenApiResponse(
        description="missing_parameter, unknown_symbol, invalid_limit,"
        " invalid_interval, invalid_time, invalid_time_range."
    )
}


class PublicApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class DepthApi(PublicApi):
    """The order book: bids best (highest) first, asks best (lowest) first, remaining quantities.

    ``last_update_id`` lines up with the ``U``/``u`` ids of the ``depth.<SYMBOL>`` stream.
    """

    @extend_schema(
        parameters=[SYMBOL, _limit_parameter(DEPTH_LIMIT)],
        responses={200: serializers.DepthOutputSerializer, **_ERRORS},
        operation_id="depth",
    )
    def get(self, request: Request) -> Response:
        symbol, _, spec = _symbol(request)
        limit = _limit(request, DEPTH_LIMIT)
        book = selectors.depth(symbol)
        fmt = Fmt.of(spec)
        data = serializers.depth_snapshot(
            symbol, fmt, book.last_update_id, book.bids[:limit], book.asks[:limit]
        )
        return Response(data)


class TradesApi(PublicApi):
    """Recent public trades, newest first."""

    @extend_schema(
        parameters=[SYMBOL, _limit_parameter(TRADES_LIMIT)],
        responses={200: serializers.PublicTradeOutputSerializer(many=True), **_ERRORS},
        operation_id="trades",
    )
    def get(self, request: Request) -> Response:
        _, market_id, spec = _symbol(request)
        limit = _limit(request, TRADES_LIMIT)
        fmt = Fmt.of(spec)
        rows = selectors.recent_trades(market_id, limit)
        return Response([serializers.rest_trade(fmt, *row) for row in rows])  # type: ignore[arg-type]


class KlinesApi(PublicApi):
    """Candles, oldest first, the current (live) one included. Minutes without trades have none."""

    @extend_schema(
        parameters=[
            SYMBOL,
            OpenApiParameter(
                "interval", OpenApiTypes.STR, required=True, enum=list(INTERVAL_ALIASES)
            ),
            _time_parameter("start_time", "startTime"),
            _time_parameter("end_time", "endTime"),
            _limit_parameter(KLINES_LIMIT),
        ],
        responses={200: serializers.KlineOutputSerializer(many=True), **_ERRORS},
        operation_id="klines",
    )
    def get(self, request: Request) -> Response:
        _, market_id, spec = _symbol(request)
        raw = _param(request, "interval")
        interval = INTERVAL_ALIASES.get(raw or "")
        if interval is None:
            raise ValidationFailed(
                "interval must be one of 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w.",
                code="invalid_interval",
                details={"interval": (raw or "")[:16]},
            )
        start = _time(request, ("start_time", "startTime"))
        end = _time(request, ("end_time", "endTime"))
        if start is not None and end is not None and start > end:
            raise ValidationFailed("start_time is after end_time.", code="invalid_time_range")
        limit = _limit(request, KLINES_LIMIT)
        fmt = Fmt.of(spec)
        candles = selectors.klines(market_id, spec, interval, start, end, limit)
        return Response([serializers.rest_kline(fmt, interval, c) for c in candles])


_TICKER = serializers.ticker_schema()


class TickersApi(PublicApi):
    """Rolling 24 h statistics (1440 one-minute buckets, the current one included)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "symbol", OpenApiTypes.STR, pattern=SYMBOL_RE, description="one market's only"
            )
        ],
        responses={
            200: OpenApiResponse(
                {"oneOf": [_TICKER, {"type": "array", "items": _TICKER}]},
                description="One ticker with symbol, else every market's (a list).",
            ),
            **_ERRORS,
        },
        operation_id="tickers",
    )
    def get(self, request: Request) -> Response:
        symbol = _param(request, "symbol")
        if symbol is not None:
            _market(symbol)
        names = [symbol] if symbol is not None else selectors.symbols()
        out = ticker_list(names)
        return Response(out[0] if symbol is not None else out)


def ticker_list(names: list[str]) -> list[dict[str, Any]]:
    """The tickers of ``names`` as GET /tickers shows them (the pages render the same)."""
    now_ms = time.time_ns() // 1_000_000
    out = []
    for name, spec, stats, book in selectors.tickers(names, now_ms):
        best_bid = book.bids[0][0] if book.bids else None
        best_ask = book.asks[0][0] if book.asks else None
        out.append(serializers.ticker(name, Fmt.of(spec), stats, best_bid, best_ask))
    return out
