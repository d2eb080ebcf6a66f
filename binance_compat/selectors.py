"""Reads for the Binance-compatible surface, over the same projections the native API reads.

Private reads go through the trading and accounts selectors (which wait for the caller's own
writes: read-your-writes, docs/api.md section 3); the few Binance queries the native API has
no selector for (ranges by order id, trade id or time, ascending) filter the same querysets.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from django.db.models import Q, QuerySet

from accounts import selectors as account_selectors
from accounts.models import Balance, User
from common.clock import MAX_MS, datetime_to_ms, ms_to_datetime
from common.sums import total
from marketdata.models import Kline, KlineInterval
from trading import selectors as trading_selectors
from trading.models import Market, Order, Trade
from trading.orders import row_order, row_trade

AVG_PRICE_MINS = 5


def _range(start_ms: int | None, end_ms: int | None) -> tuple[datetime | None, datetime | None]:
    start = ms_to_datetime(start_ms) if start_ms is not None else None
    # end is inclusive to the millisecond (rows keep microseconds)
    end = ms_to_datetime(end_ms + 1) if end_ms is not None and end_ms < MAX_MS else None
    return start, end


def markets(natives: list[str] | None) -> list[Market]:
    rows = trading_selectors.market_list()
    if natives is not None:
        rows = rows.filter(symbol__in=natives)
    return list(rows)


def balances(user: User) -> list[Balance]:
    return account_selectors.balances_of(user)


def all_orders(
    user_id: int,
    symbol: str,
    *,
    from_order_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Binance's allOrders: from an order id, or within a time range (the first ``limit``
    from its start), else the most recent ``limit``; always oldest first."""
    start, end = _range(start_ms, end_ms)
    rows: QuerySet[Order] = trading_selectors.order_history(
        user_id, symbol=symbol, start=start, end=end
    )
    if from_order_id is not None:
        rows = rows.filter(id__gte=from_order_id)
    if from_order_id is not None or start is not None:
        picked = list(rows.order_by("created_at", "id")[:limit])
    else:
        picked = list(rows.order_by("-created_at", "-id")[:limit])[::-1]
    return [row_order(o, symbol) for o in picked]


def open_orders(user_id: int, symbol: str | None) -> list[dict[str, Any]]:
    return trading_selectors.open_orders(user_id, symbol)


def order(user_id: int, symbol: str, order_id: int | None, client_id: str | None) -> dict[str, Any]:
    return trading_selectors.order_get(
        user_id, symbol, order_id=order_id, client_order_id=client_id
    )


def my_trades(
    user_id: int,
    symbol: str,
    *,
    order_id: int | None,
    from_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    start, end = _range(start_ms, end_ms)
    rows = trading_selectors.trade_history(user_id, symbol=symbol, start=start, end=end)
    if order_id is not None:
        rows = rows.filter(
            Q(maker_order_id=order_id, maker_user_id=user_id)
            | Q(taker_order_id=order_id, taker_user_id=user_id)
        )
    if from_id is not None:
        rows = rows.filter(trade_id__gte=from_id)
    if from_id is not None or start is not None or order_id is not None:
        picked = list(rows.order_by("trade_id")[:limit])
    else:
        picked = list(rows.order_by("-trade_id")[:limit])[::-1]
    return [row_trade(t, user_id) for t in picked]


def public_trades(
    market_id: int,
    *,
    from_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> list[tuple[int, Decimal, Decimal, Decimal, datetime, str]]:
    """Trades oldest first: from a trade id, or in a time range, else the most recent."""
    rows = Trade.objects.filter(market_id=market_id)
    start, end = _range(start_ms, end_ms)
    if start is not None:
        rows = rows.filter(executed_at__gte=start)
    if end is not None:
        rows = rows.filter(executed_at__lt=end)
    if from_id is not None:
        rows = rows.filter(trade_id__gte=from_id)
    columns = ("trade_id", "price", "quantity", "quote_quantity", "executed_at", "taker_side")
    if from_id is not None or start is not None:
        return list(rows.order_by("trade_id").values_list(*columns)[:limit])
    return list(rows.order_by("-trade_id").values_list(*columns)[:limit])[::-1]


def last_trade(market_id: int) -> tuple[int, Decimal] | None:
    """(trade id, quantity) of the market's last trade."""
    row = (
        Trade.objects.filter(market_id=market_id)
        .order_by("-trade_id")
        .values_list("trade_id", "quantity")
        .first()
    )
    return None if row is None else (row[0], row[1])


def average_price(market_id: int, quote_decimals: int, now_ms: int) -> tuple[str | None, int]:
    """Volume-weighted price over the last ``AVG_PRICE_MINS`` one-minute candles (the current
    one included), at the quote asset's places, half to even; and the last trade's time. A
    statistic for display, never used for an amount."""
    since = ms_to_datetime(now_ms - now_ms % 60_000 - (AVG_PRICE_MINS - 1) * 60_000)
    volume, quote = total(  # exact on SQLite too (common.sums)
        Kline.objects.filter(market_id=market_id, interval=KlineInterval.M1, open_time__gte=since),
        "volume",
        "quote_volume",
    )
    last = (
        Trade.objects.filter(market_id=market_id)
        .order_by("-trade_id")
        .values_list("executed_at", flat=True)
        .first()
    )
    last_ms = datetime_to_ms(last) if last is not None else now_ms
    if not volume:
        return None, last_ms
    with localcontext() as ctx:
        ctx.prec = 80
        value = (Decimal(quote) / Decimal(volume)).quantize(
            Decimal(1).scaleb(-quote_decimals), rounding=ROUND_HALF_EVEN
        )
    return format(value, "f"), last_ms
