"""The trader's own orders, as pages show them: the Orders page (/orders) and the data of the
orders panel the Trade page shares with it.

Reads go through the selectors the API uses (with their read-your-writes barrier) and come out
in the API's JSON shapes, so the page's JavaScript (static/js/orders.js) renders the first data
and the live updates with the same code.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from accounts.selectors import balances_of
from accounts.serializers import balance_out
from common.errors import DomainError
from trading import selectors
from trading.orders import row_trade
from trading.serializers import MarketOutputSerializer
from trading.specs import unit_scale

PANEL_ROWS = 50  # history and fills shown at first; the page loads more on demand


def orders_panel_data(user: User, symbol: str | None) -> dict[str, Any] | None:
    """Open orders, recent orders and fills of one user (in one market, or all), and the
    balances; None when the database is behind the caller's writes or fills (503
    writes_not_persisted): the page then shows them once its JavaScript has read them."""
    user_id = user.pk
    try:
        history = selectors.order_history(user_id, symbol=symbol).order_by("-created_at", "-id")
        fills = selectors.trade_history(user_id, symbol=symbol).order_by("-executed_at", "-id")
        balances = [balance_out(b) for b in balances_of(user)]
        return {
            "open_orders": selectors.open_orders(user_id, symbol),
            "history": selectors.orders_with_fills(list(history[:PANEL_ROWS])),
            "fills": [row_trade(t, user_id) for t in fills[:PANEL_ROWS]],
            "balances": balances,
        }
    except DomainError:
        return None


def markets_json() -> list[dict[str, Any]]:
    return list(MarketOutputSerializer(selectors.market_list(), many=True).data)


def market_places() -> dict[str, dict[str, int]]:
    """Each market's decimal places for prices (its tick's) and quantities (its lot's): the
    order tables write numbers at these, as static/js/orders.js does."""
    return {
        m.symbol: {
            "price": unit_scale(m.tick_size.normalize())[1],
            "qty": unit_scale(m.lot_size.normalize())[1],
        }
        for m in selectors.market_list()
    }


@login_required
def orders_page(request: HttpRequest) -> HttpResponse:
    panel = orders_panel_data(cast(User, request.user), None)  # login_required: a User
    page_data = {"symbol": None, "markets": markets_json(), "user": panel}
    context = {"panel": panel, "page_data": page_data, "places": market_places()}
    return render(request, "trading/orders.html", context)
