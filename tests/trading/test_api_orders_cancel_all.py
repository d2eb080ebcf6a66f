"""DELETE /api/v1/orders: cancel all the caller's open orders (in one market, or everywhere)."""

from decimal import Decimal as D

import pytest

from tests.api import Api
from tests.factories import make_user
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice_api(pipeline):
    api = Api.for_user(make_user("alice")).fund(USDC="1000", BTC="1")
    api.place(side="buy", price="10", quantity="1")
    api.place(side="buy", price="11", quantity="1")
    api.post(
        "/api/v1/order",
        {
            "symbol": "BTC_USDC",
            "side": "sell",
            "type": "limit",
            "price": "90000",
            "quantity": "0.1",
        },
    )
    return api


def test_cancel_all_cancels_one_market_when_a_symbol_is_given(alice_api):
    resp = alice_api.delete("/api/v1/orders", symbol="SOL_USDC")
    assert resp.status_code == 200
    assert {(o["symbol"], o["status"]) for o in resp.json()} == {("SOL_USDC", "cancelled")}
    assert len(resp.json()) == 2
    assert [o["symbol"] for o in alice_api.get("/api/v1/orders").json()] == ["BTC_USDC"]
    assert alice_api.balances()["USDC"] == (D(1000), D(0))


def test_cancel_all_cancels_every_market_when_no_symbol_is_given(alice_api):
    resp = alice_api.delete("/api/v1/orders")
    assert len(resp.json()) == 3
    assert alice_api.get("/api/v1/orders").json() == []
    assert alice_api.balances()["BTC"] == (D(1), D(0))


def test_cancel_all_is_empty_and_touches_nothing_when_another_user_calls_it(alice_api):
    bob = Api.for_user(make_user("bob"))
    resp = bob.delete("/api/v1/orders", symbol="SOL_USDC")
    assert (resp.status_code, resp.json()) == (200, [])
    assert len(alice_api.get("/api/v1/orders").json()) == 3
