"""The market pages (/ and /trade/<SYMBOL>) render their first data on the server."""

from decimal import Decimal

import pytest

from marketdata.views import book_view
from tests.factories import make_balance, make_kline, make_order, make_trade, make_user
from trading.models import OrderStatus, Side

pytestmark = pytest.mark.django_db


def test_markets_page_lists_every_market_with_its_24h_numbers(client, markets, api_env):
    # given a trade in SOL_USDC
    sol = markets["SOL_USDC"]
    maker = make_order(make_user("alice"), sol, side=Side.SELL, price=Decimal("151.5"))
    taker = make_order(make_user("bob"), sol, price=Decimal("151.5"))
    make_trade(maker, taker)
    make_kline(sol, open=Decimal("150"), high=Decimal("152"), low=Decimal("149"))
    make_kline(sol, open=Decimal("150"), close=Decimal("151.5"), interval="1h")
    html = client.get("/").content.decode()
    for symbol in ("SOL_USDC", "BTC_USDC", "ETH_USDC"):
        assert f'data-symbol="{symbol}"' in html
        assert f'href="/trade/{symbol}"' in html
    # the header's switcher shows the last trade price at the tick's places
    assert "151.50" in html
    assert 'id="page-data"' in html


def test_markets_page_says_how_to_seed_when_there_are_no_markets(client, db):
    assert "seed_demo" in client.get("/").content.decode()


def test_trade_page_is_read_only_with_a_log_in_prompt_for_visitors(client, markets, api_env):
    html = client.get("/trade/SOL_USDC").content.decode()
    assert 'id="order-form"' not in html
    assert "Log in or create an account" in html
    assert "/login?next=/trade/SOL_USDC" in html
    assert 'id="chart"' in html and 'id="book-bids"' in html and 'id="trades"' in html


def test_trade_page_has_the_form_and_the_users_own_orders_when_logged_in(client, markets, api_env):
    alice, bob = make_user("alice"), make_user("bob")
    mine = make_order(alice, markets["SOL_USDC"], price=Decimal("20.5"), status=OrderStatus.NEW)
    theirs = make_order(bob, markets["SOL_USDC"], price=Decimal("19.5"), status=OrderStatus.NEW)
    make_balance(alice, markets["SOL_USDC"].quote, available="979.5", locked="20.5")
    client.force_login(alice)
    html = client.get("/trade/SOL_USDC").content.decode()
    assert 'id="order-form"' in html
    assert f'data-order-id="{mine.pk}"' in html
    assert f'data-order-id="{theirs.pk}"' not in html
    assert "20.50" in html  # at the market's tick places
    assert "979.500000" in html  # available USDC in the form


def test_trade_page_redirects_a_lower_case_symbol_and_refuses_an_unknown_one(
    client, markets, api_env
):
    resp = client.get("/trade/sol_usdc")
    assert (resp.status_code, resp["Location"]) == (302, "/trade/SOL_USDC")
    assert client.get("/trade/DOGE_USDC").status_code == 404
    assert client.get("/trade")["Location"] == "/trade/BTC_USDC"


def test_pages_tell_the_browser_where_the_websocket_is(client, markets, api_env, settings):
    page = client.get("/trade/SOL_USDC", HTTP_HOST="127.0.0.1:8000", SERVER_PORT="8000")
    assert '<meta name="ws-url" content="ws://127.0.0.1:8001/ws">' in page.content.decode()
    settings.WS_PORT = 9001
    page = client.get("/", HTTP_HOST="localhost:8000")
    assert 'content="ws://localhost:9001/ws"' in page.content.decode()
    settings.WS_URL = "wss://ex.example/ws"
    assert 'content="wss://ex.example/ws"' in client.get("/").content.decode()


def test_book_first_paint_has_running_totals_and_bars_against_the_deeper_side():
    snapshot = {
        "asks": [["20.10", "1.00"], ["20.20", "3.00"]],
        "bids": [["20.00", "2.00"], ["19.90", "0.50"]],
    }
    view = book_view(snapshot, rows=3, qty_places=2)
    # asks drawn highest first (the best ask next to the spread), padded to the row count
    assert view["asks"][0] is None
    asks = [r for r in view["asks"] if r is not None]
    bids = [r for r in view["bids"] if r is not None]
    assert [r["price"] for r in asks] == ["20.20", "20.10"]
    assert [(r["total"], r["total_pct"], r["size_pct"]) for r in asks] == [
        ("4.00", 100, 75),
        ("1.00", 25, 25),
    ]
    assert [(r["price"], r["total"]) for r in bids] == [
        ("20.00", "2.00"),
        ("19.90", "2.50"),
    ]
    assert view["bids"][2] is None
