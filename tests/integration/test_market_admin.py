"""The operator's changes reach the matcher without a restart, through the real admin.

The admin is driven over HTTP with a staff session (login form, CSRF token, the change forms and
actions) on the same REST server (granian, two worker processes) the traders' orders go to, not
through Django's test client in this process: the admin's save then runs where it does in
production, in a server worker, with the server's middleware and database connections, and the
per-process market caches that must follow a change are the two workers' own. Nothing is
restarted between the steps.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounts.models import Asset, User
from tests.integration.conftest import Stack, Trader, reset_venue
from trading.models import Market

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

D = Decimal
OPS_PASSWORD = "ops-Long-enough-passphrase-1"


class AdminSession:
    """A staff user's browser, as far as the admin needs one: session and CSRF cookies."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.get(f"{base_url}/admin/login/", timeout=10)
        page = self.post("/admin/login/?next=/admin/", username=username, password=password)
        assert "sessionid" in self.http.cookies, page[:500]

    def post(self, path: str, **form: Any) -> str:
        """Submit a form (following the redirect, as a browser does); the page's text."""
        data = {"csrfmiddlewaretoken": self.http.cookies["csrftoken"], **form}
        resp = self.http.post(f"{self.base_url}{path}", data=data, timeout=60)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:1000])
        return html.unescape(resp.text)

    def add_asset(self, code: str, name: str, decimals: int) -> str:
        return self.post(
            "/admin/accounts/asset/add/", code=code, name=name, decimals=decimals, is_active="on"
        )

    def add_market(self, symbol: str, **sizes: str) -> str:
        base, quote = symbol.split("_")
        ids = dict(Asset.objects.filter(code__in=(base, quote)).values_list("code", "pk"))
        return self.post(
            "/admin/trading/market/add/", symbol=symbol, base=ids[base], quote=ids[quote], **sizes
        )

    def change_market(self, symbol: str, **changes: str) -> str:
        market = Market.objects.get(symbol=symbol)
        form = {
            name: changes.get(name, format(getattr(market, name).normalize(), "f"))
            for name in (
                "tick_size",
                "lot_size",
                "min_notional",
                "maker_fee_rate",
                "taker_fee_rate",
            )
        }
        return self.post(f"/admin/trading/market/{market.pk}/change/", **form)

    def action(self, symbol: str, action: str) -> str:
        market = Market.objects.get(symbol=symbol)
        return self.post("/admin/trading/market/", action=action, _selected_action=market.pk)


def messages(page: str) -> list[str]:
    """The admin's success messages on a page."""
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r'<li class="success">(.*?)</li>', page, re.S)
    ]


def form_errors(page: str) -> list[str]:
    block = re.findall(r'<ul class="errorlist nonfield">(.*?)</ul>', page, re.S)
    return [
        re.sub(r"<[^>]+>", "", item).strip()
        for b in block
        for item in b.split("</li>")
        if item.strip()
    ]


@pytest.fixture(scope="module")
def ops(stack: Stack, django_db_blocker: Any) -> Iterator[AdminSession]:
    """A superuser (committed, so the server sees it), logged in to the admin; the assets and
    markets the module adds are removed after the stack has stopped (orders and trades first)."""
    with django_db_blocker.unblock():
        User.objects.create_superuser("ops", "ops@example.com", OPS_PASSWORD)
    yield AdminSession(stack.base_url, "ops", OPS_PASSWORD)


@pytest.fixture(scope="module", autouse=True)
def remove_listings(stack: Stack, django_db_blocker: Any) -> Iterator[None]:
    """Later modules start from the three usual markets: after this module, stop the stack,
    empty the venue (orders and trades refer to the markets), then drop what it listed."""
    yield
    stack.stop_all()
    with django_db_blocker.unblock():
        reset_venue()
        Market.objects.filter(symbol__in=("DOGE_USDC", "SOL_BTC")).delete()
        Asset.objects.filter(code="DOGE").delete()


@pytest.fixture(scope="module")
def doge_usdc(ops: AdminSession) -> str:
    """DOGE and DOGE_USDC, added in the admin of the running venue; the add page's text."""
    asset_page = ops.add_asset("DOGE", "Dogecoin", 8)
    assert any("DOGE" in m for m in messages(asset_page)), asset_page[:2000]
    return ops.add_market(
        "DOGE_USDC",
        tick_size="0.0001",
        lot_size="1",
        min_notional="1",
        maker_fee_rate="0.001",
        taker_fee_rate="0.002",
    )


def place(trader: Trader, symbol: str, side: str, price: str, quantity: str) -> Any:
    body = {"symbol": symbol, "side": side, "type": "limit", "price": price, "quantity": quantity}
    return trader.api.post("/api/v1/order", body)


def test_an_asset_and_a_market_added_in_the_admin_trade_without_a_restart(
    stack: Stack, doge_usdc: str
) -> None:
    # then the admin said the market is listed
    assert any("DOGE_USDC is listed" in m for m in messages(doge_usdc)), doge_usdc[:2000]
    # and traders deposit the new asset and cross an order in the new market at once
    alice = stack.funded("alice", USDC="100")
    bob = stack.funded("bob", DOGE="1000")
    rest = place(alice, "DOGE_USDC", "buy", "0.1234", "100")
    assert (rest.status_code, rest.json()["status"]) == (201, "new"), rest.text
    take = place(bob, "DOGE_USDC", "sell", "0.12", "100")
    assert (take.status_code, take.json()["status"]) == (201, "filled"), take.text
    assert D(take.json()["filled_quote"]) == D("12.34")
    # the taker paid 0.2 % of 12.34 USDC, in USDC
    assert [(D(f["fee"]), f["fee_asset"]) for f in take.json()["fills"]] == [(D("0.02468"), "USDC")]


def test_a_fee_changed_in_the_admin_applies_to_the_next_trade(
    stack: Stack, ops: AdminSession, doge_usdc: str
) -> None:
    page = ops.change_market("DOGE_USDC", taker_fee_rate="0.005")
    assert any("taker fee rate 0.002 -> 0.005" in m for m in messages(page)), page[:2000]

    alice = stack.funded("alice", USDC="100")
    bob = stack.funded("bob", DOGE="1000")
    assert place(alice, "DOGE_USDC", "buy", "0.2", "50").status_code == 201
    take = place(bob, "DOGE_USDC", "sell", "0.2", "50")
    assert take.json()["status"] == "filled", take.text
    # 0.5 % of 10 USDC
    assert [D(f["fee"]) for f in take.json()["fills"]] == [D("0.05")]


@pytest.fixture(scope="module")
def sol_btc(ops: AdminSession) -> str:
    page = ops.add_market(
        "SOL_BTC",
        tick_size="0.000001",
        lot_size="0.01",
        min_notional="0.0001",
        maker_fee_rate="0.001",
        taker_fee_rate="0.002",
    )
    assert any("SOL_BTC is listed" in m for m in messages(page)), page[:2000]
    return "SOL_BTC"


def test_a_tick_change_the_matcher_refuses_shows_its_reason_in_the_admin(
    stack: Stack, ops: AdminSession, sol_btc: str
) -> None:
    # given an order resting on the SOL_BTC book
    alice = stack.funded("alice", BTC="1")
    rest = place(alice, sol_btc, "buy", "0.001", "1")
    assert rest.status_code == 201, rest.text

    # when the operator changes its tick size, the form comes back with the matcher's reason
    page = ops.change_market(sol_btc, tick_size="0.00001")
    errors = form_errors(page)
    assert any("orders rest on the SOL_BTC book (1 open)" in e for e in errors), errors or page
    # and nothing changed: the row, and the engine (the same order is still accepted)
    assert Market.objects.get(symbol=sol_btc).tick_size == D("0.000001")
    again = place(alice, sol_btc, "buy", "0.000999", "1")
    assert again.status_code == 201, again.text
    cancel = alice.api.delete("/api/v1/orders", symbol=sol_btc)
    assert cancel.status_code == 200, cancel.text


def test_a_tick_change_reaches_every_web_process_before_the_market_trades_again(
    stack: Stack, ops: AdminSession, sol_btc: str
) -> None:
    # given both web workers holding SOL_BTC at its tick of 0.000001: orders they convert
    # (refused by the engine for funds the trader lacks, so the book stays empty)
    broke = stack.funded("broke", USDC="1")
    for _ in range(16):
        warm = place(broke, sol_btc, "buy", "0.000015", "10")
        assert warm.json()["error"]["code"] == "insufficient_funds", warm.text
    assert stack.health()["status"] == "ok"

    # when the operator coarsens it to 0.00001 on the empty book
    page = ops.change_market(sol_btc, tick_size="0.00001")
    said = messages(page)
    assert any("tick size 0.000001 -> 0.00001" in m and "halted for" in m for m in said), said

    # then, from the next request on, no worker takes a price on the old grid: converted with
    # a stale tick, 0.000015 would be 15 ticks, a bid at 0.00015
    alice = stack.funded("alice", BTC="1")
    for _ in range(16):
        stale = place(alice, sol_btc, "buy", "0.000015", "10")
        assert (stale.status_code, stale.json()["error"]["code"]) == (400, "price_off_tick")
    # and a price on the new grid rests where it was asked
    fresh = place(alice, sol_btc, "buy", "0.00002", "10")
    assert (fresh.status_code, fresh.json()["status"]) == (201, "new"), fresh.text
    depth = requests.get(f"{stack.base_url}/api/v1/depth", params={"symbol": sol_btc}, timeout=10)
    assert depth.json()["bids"] == [["0.00002", "10.00"]], depth.text


def test_a_market_halted_and_resumed_in_the_admin_refuses_then_takes_the_next_order(
    stack: Stack, ops: AdminSession
) -> None:
    alice = stack.funded("alice", USDC="100")

    halted = ops.action("SOL_USDC", "halt")
    assert any("SOL_USDC halted" in m for m in messages(halted)), halted[:2000]
    refused = place(alice, "SOL_USDC", "buy", "1", "1")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "market_halted")

    resumed = ops.action("SOL_USDC", "resume")
    assert any("SOL_USDC trading again" in m for m in messages(resumed)), resumed[:2000]
    taken = place(alice, "SOL_USDC", "buy", "1", "1")
    assert (taken.status_code, taken.json()["status"]) == (201, "new"), taken.text
