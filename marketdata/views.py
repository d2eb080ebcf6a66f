"""The market pages: Markets (/) and Trade (/trade/<SYMBOL>).

Each page renders its first data on the server, read through the selectors the REST API uses and
written in the API's JSON shapes, and hands the same data to its ES module (static/js/), which
keeps the page live from the WebSocket streams and the REST API, as a bot would
(docs/web-ui.md). Nothing here writes: orders go through POST /api/v1/order.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import MONEY_DIGITS
from common.amounts import plain
from common.errors import NotFound
from marketdata import selectors, serializers
from marketdata.apis import ticker_list
from marketdata.formatting import Fmt
from trading import selectors as trading_selectors
from trading.serializers import MarketOutputSerializer
from trading.views import orders_panel_data

BOOK_ROWS = 12  # levels shown per side (the page hides some on a phone)
BOOK_GROUPS = (1, 10, 100, 1000)  # grouping choices, in ticks
BOOK_SNAPSHOT_LEVELS = 50  # first paint only: the page re-reads the book (1000 levels) at once
RECENT_TRADES = 40
CHART_CANDLES = 300
DEFAULT_INTERVAL = "15m"
CHART_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d")


def markets_page(request: HttpRequest) -> HttpResponse:
    markets = list(trading_selectors.market_list())
    tickers = {t["symbol"]: t for t in ticker_list([m.symbol for m in markets])}
    rows = [
        {
            "market": MarketOutputSerializer(m).data,
            "name": m.base.name,
            "ticker": tickers.get(m.symbol),
        }
        for m in markets
    ]
    return render(request, "marketdata/markets.html", {"rows": rows, "page_data": {"rows": rows}})


def trade_default(request: HttpRequest) -> HttpResponse:
    first = trading_selectors.market_list().values_list("symbol", flat=True).first()
    return redirect("trade", symbol=first) if first else redirect("home")


def trade_page(request: HttpRequest, symbol: str) -> HttpResponse:
    if symbol.upper() != symbol:
        return redirect("trade", symbol=symbol.upper())
    try:
        market = trading_selectors.market_get(symbol)
        market_id, spec = selectors.market(symbol)
    except (selectors.UnknownSymbol, NotFound):
        raise Http404(f"No market {symbol}.") from None
    fmt = Fmt.of(spec)
    book = selectors.depth(symbol)
    data: dict[str, Any] = {
        "symbol": symbol,
        "market": MarketOutputSerializer(market).data,
        "base_name": market.base.name,
        "ticker": ticker_list([symbol])[0],
        "depth": serializers.depth_snapshot(
            symbol,
            fmt,
            book.last_update_id,
            book.bids[:BOOK_SNAPSHOT_LEVELS],
            book.asks[:BOOK_SNAPSHOT_LEVELS],
        ),
        "trades": [
            serializers.rest_trade(fmt, *row)  # type: ignore[arg-type]
            for row in selectors.recent_trades(market_id, RECENT_TRADES)
        ],
        "interval": DEFAULT_INTERVAL,
        "intervals": CHART_INTERVALS,
        "klines": [
            serializers.rest_kline(fmt, DEFAULT_INTERVAL, candle)
            for candle in selectors.klines(
                market_id, spec, DEFAULT_INTERVAL, None, None, CHART_CANDLES
            )
        ],
        "user": None,
    }
    if request.user.is_authenticated:
        data["user"] = orders_panel_data(request.user, symbol)
    data["book_rows"] = BOOK_ROWS
    data["book_groups"] = [plain(market.tick_size * n) for n in BOOK_GROUPS]
    context = {
        "market": market,
        "d": data,
        "page_data": data,
        "panel": data["user"],
        "book": book_view(data["depth"], BOOK_ROWS, fmt.qty_places),
        "available": _available(data["user"], market.base.code, market.quote.code),
        "places": {symbol: {"price": fmt.price_places, "qty": fmt.qty_places}},
    }
    return render(request, "marketdata/trade.html", context)


def book_view(
    snapshot: dict[str, Any], rows: int, qty_places: int
) -> dict[str, list[dict[str, Any] | None]]:
    """The first paint of the order book, as static/js/book.js draws it: ``rows`` levels per
    side (asks highest first, so the best ask sits above the spread), each with its running
    total and the widths of its size and depth bars against the deeper side's total; empty
    slots are None (the book keeps its height)."""
    sides = []
    with localcontext() as ctx:
        ctx.prec = 2 * MONEY_DIGITS  # exact sums of quantities
        for levels in (snapshot["asks"], snapshot["bids"]):
            running = Decimal(0)
            side = []
            for price, size in levels[:rows]:
                running += Decimal(size)
                side.append({"price": price, "size": size, "total": running})
            sides.append(side)
    deepest = max((side[-1]["total"] for side in sides if side), default=Decimal(1))
    out = []
    for side in sides:
        shown: list[dict[str, Any] | None] = []
        for row in side:
            size, total = Decimal(row["size"]), row["total"]
            shown.append(
                {
                    **row,
                    "total": format(total, f".{qty_places}f"),
                    "size_pct": int(size * 100 / deepest),
                    "total_pct": int(total * 100 / deepest),
                }
            )
        out.append(shown + [None] * (rows - len(shown)))
    return {"asks": out[0][::-1], "bids": out[1]}


def _available(panel: dict[str, Any] | None, base: str, quote: str) -> dict[str, str | None]:
    """The order form's available balances (None until known)."""
    if panel is None:
        return {"base": None, "quote": None}
    found = {b["asset"]: b["available"] for b in panel["balances"]}
    return {"base": found.get(base, "0"), "quote": found.get(quote, "0")}
