"""GET /api/v1/orders: the caller's open orders."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_api(pipeline):
    return Api.for_user(make_user("alice")).fund(USDC="1000", BTC="1")


def test_open_orders_list_only_new_and_partially_filled_when_asked(alice_api):
    a = alice_api.place(side="buy", price="10", quantity="1").json()
    b = alice_api.place(side="buy", price="11", quantity="1").json()
    alice_api.delete("/api/v1/order", symbol="SOL_USDC", order_id=b["order_id"])
    c = alice_api.post(
        "/api/v1/order",
        {
            "symbol": "BTC_USDC",
            "side": "sell",
            "type": "limit",
            "price": "90000",
            "quantity": "0.1",
        },
    ).json()
    assert [o["order_id"] for o in alice_api.get("/api/v1/orders").json()] == [
        a["order_id"],
        c["order_id"],
    ]
    only_btc = alice_api.get("/api/v1/orders", symbol="BTC_USDC").json()
    assert [o["order_id"] for o in only_btc] == [c["order_id"]]


def test_open_orders_are_empty_for_another_user_when_asked(alice_api):
    alice_api.place(side="buy", price="10", quantity="1")
    bob = Api.for_user(make_user("bob"))
    assert bob.get("/api/v1/orders").json() == []
