"""The Orders page: the user's own open orders, history and fills in every market."""

from decimal import Decimal

import pytest

from tests.factories import make_order, make_trade, make_user
from trading.models import OrderStatus, Side

pytestmark = pytest.mark.django_db


def test_orders_page_shows_the_users_orders_and_fills_in_every_market(client, markets, api_env):
    alice, bob = make_user("alice"), make_user("bob")
    open_sol = make_order(alice, markets["SOL_USDC"], price=Decimal("20.5"), status=OrderStatus.NEW)
    open_btc = make_order(
        alice,
        markets["BTC_USDC"],
        price=Decimal("64000"),
        quantity=Decimal("0.001"),
        status=OrderStatus.NEW,
    )
    filled = make_order(
        alice,
        markets["SOL_USDC"],
        side=Side.SELL,
        status=OrderStatus.FILLED,
        filled_quantity=Decimal("1"),
        filled_quote=Decimal("21"),
        price=Decimal("21"),
    )
    bobs = make_order(bob, markets["SOL_USDC"], price=Decimal("21"))
    make_trade(filled, bobs, price=Decimal("21"))
    client.force_login(alice)
    resp = client.get("/orders")
    html = resp.content.decode()
    panel = resp.context["panel"]
    assert {o["order_id"] for o in panel["open_orders"]} == {open_sol.pk, open_btc.pk}
    assert {o["order_id"] for o in panel["history"]} == {open_sol.pk, open_btc.pk, filled.pk}
    assert [f["order_id"] for f in panel["fills"]] == [filled.pk]
    assert f'data-order-id="{bobs.pk}"' not in html
    assert "64000.0" in html and "0.00100" in html  # each market's own places
    assert "SOL/USDC" in html and "BTC/USDC" in html
