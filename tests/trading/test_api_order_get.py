"""GET /api/v1/order: one of the caller's orders, by id or client id."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_api(pipeline):
    return Api.for_user(make_user("alice")).fund(USDC="1000", SOL="10")


@pytest.fixture
def bob_api(pipeline):
    return Api.for_user(make_user("bob")).fund(USDC="1000", SOL="10")


def test_order_is_returned_with_its_maker_fill_when_asked_by_id(alice_api, bob_api):
    resting = alice_api.place(side="sell", price="20", quantity="1").json()
    bob_api.place(side="buy", price="20", quantity="1")
    bob_api.get("/api/v1/orders")  # bob's read waits for the persister to write his trade
    got = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=resting["order_id"])
    assert got.status_code == 200
    order = got.json()
    assert (order["status"], order["filled_quantity"], order["filled_quote"]) == (
        "filled",
        "1",
        "20",
    )
    [fill] = order["fills"]
    assert (fill["liquidity"], fill["fee"], fill["fee_asset"]) == ("maker", "0.02", "USDC")


def test_order_is_returned_when_asked_by_client_order_id(alice_api):
    placed = alice_api.place(side="buy", price="1", quantity="1", client_order_id="c-9").json()
    got = alice_api.get("/api/v1/order", symbol="SOL_USDC", client_order_id="c-9").json()
    assert got["order_id"] == placed["order_id"]
    assert got["status"] == "new"


def test_order_of_another_user_is_not_found_when_asked(alice_api, bob_api):
    placed = alice_api.place(side="buy", price="1", quantity="1", client_order_id="c-1").json()
    for params in ({"order_id": placed["order_id"]}, {"client_order_id": "c-1"}):
        resp = bob_api.get("/api/v1/order", symbol="SOL_USDC", **params)
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "order_not_found"


def test_order_is_not_found_when_asked_in_another_market(alice_api):
    placed = alice_api.place(side="buy", price="1", quantity="1").json()
    resp = alice_api.get("/api/v1/order", symbol="BTC_USDC", order_id=placed["order_id"])
    assert resp.status_code == 404
