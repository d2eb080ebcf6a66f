"""Template tags of every page's header: where the WebSocket is, and the market switcher."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.http import HttpRequest

from common.amounts import plain
from marketdata import selectors
from trading.selectors import market_list

register = template.Library()
NONE = "\N{EN DASH}"  # what a missing number shows


def ws_url_for(request: HttpRequest) -> str:
    """The /ws URL a page served to ``request`` connects to (settings.WS_URL, WS_PORT).

    The page's own host name, so the browser sends the session cookie (cookies ignore the
    port) and the WebSocket server's origin check (ALLOWED_HOSTS) accepts the page.
    """
    if settings.WS_URL:
        return str(settings.WS_URL)
    host = urlsplit("//" + request.get_host()).hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = settings.WS_PORT or int(request.get_port() or 80) + 1
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{host}:{port}/ws"


@register.simple_tag(takes_context=True)
def ws_url(context: dict[str, Any]) -> str:
    return ws_url_for(context["request"])


@register.simple_tag
def header_markets() -> list[dict[str, Any]]:
    """Every market with its last trade price, for the header's market switcher."""
    markets = list(market_list())
    prices = selectors.last_prices([m.symbol for m in markets])
    return [
        {"symbol": m.symbol, "base": m.base.code, "quote": m.quote.code, "last": prices[m.symbol]}
        for m in markets
    ]


# --- Number display: the same rules as static/js/format.js, on decimal strings (never floats) ---


@register.filter
def grouped(value: str | None) -> str:
    """ "1234567.890" -> "1,234,567.890"; None -> an en dash."""
    if value is None or value == "":
        return NONE
    sign, text = ("-", value[1:]) if value.startswith("-") else ("", value)
    whole, dot, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ",".join(groups) + dot + frac


@register.filter
def trimmed(value: str | None) -> str | None:
    """Trailing fractional zeros dropped: "12.500000" -> "12.5", "3.000" -> "3"."""
    if value is None or "." not in value:
        return value
    return value.rstrip("0").rstrip(".")


@register.filter
def direction(value: str | None) -> str:
    """ "up", "down" or "" for a signed decimal string (a change)."""
    if not value:
        return ""
    if value.startswith("-"):
        return "down"
    return "" if value.strip("0.") == "" else "up"


@register.filter
def signed_percent(value: str | None) -> str:
    """ "1.50" -> "+1.50 %", "-0.25" -> "-0.25 %", None -> an en dash."""
    if value is None:
        return NONE
    return f"{'+' if direction(value) == 'up' else ''}{value} %"


@register.filter
def rate_percent(value: str | None) -> str:
    """A fee rate as a fraction ("0.001") in percent with two places at least: "0.10 %"."""
    if value is None:
        return NONE
    percent = plain(Decimal(value) * 100)
    whole, _, frac = percent.partition(".")
    return f"{whole}.{frac.ljust(2, '0')} %"


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


@register.filter
def ms_time(value: int | None) -> str:
    """Unix ms -> "HH:MM:SS" (UTC; the page's JavaScript shows local time)."""
    return "" if value is None else _utc(value).strftime("%H:%M:%S")


@register.filter
def ms_datetime(value: int | None) -> str:
    """Unix ms -> "MM-DD HH:MM:SS" (UTC; the page's JavaScript shows local time)."""
    return "" if value is None else _utc(value).strftime("%m-%d %H:%M:%S")


@register.filter
def pair(symbol: str) -> str:
    """ "SOL_USDC" -> "SOL/USDC"."""
    return symbol.replace("_", "/")


# A conditional order waits outside the book until the last trade price reaches its stop price.
STATUS_LABELS = {"partially_filled": "Partially filled", "untriggered": "Waiting for trigger"}


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


@register.simple_tag
def shown(value: str | None, symbol: str, kind: str, places: dict[str, dict[str, int]]) -> str:
    """A price or quantity of ``symbol`` at its market's places ("20" -> "20.00"); exact: the
    API's values are on the market's grid, so only zeros are added."""
    if value is None:
        return NONE
    wanted = places.get(symbol, {}).get(kind)
    if wanted is None:
        return value
    return format(Decimal(value), f".{wanted}f")


# --- Orders of every type (docs/order-types.md): the same labels as static/js/order-view.js ---

ORDER_TYPE_LABELS = {
    "limit": "Limit",
    "market": "Market",
    "stop_limit": "Stop-limit",
    "stop_market": "Stop-market",
    "take_profit_limit": "Take-profit limit",
    "take_profit_market": "Take-profit market",
}


@register.filter
def type_label(order_type: str | None) -> str:
    if not order_type:
        return ""
    return ORDER_TYPE_LABELS.get(order_type, order_type.replace("_", " ").capitalize())


@register.filter
def open_status_label(order: dict[str, Any]) -> str:
    """An open order's status; a conditional order that has left its wait says so."""
    if order.get("status") == "new" and order.get("trigger_price") is not None:
        return "Triggered"
    return status_label(str(order.get("status", "")))


@register.filter
def trailing_percent(bps: int | str | None) -> str:
    """A trailing delta in basis points as a percentage: 150 -> "1.5 %" (exact); a template's
    missing value ("") shows nothing."""
    if bps is None or bps == "":
        return ""
    return f"{plain(Decimal(int(bps)).scaleb(-2))} %"
