"""DELETE /api/v1/order: cancel one of the caller's orders."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_api(pipeline):
    return Api.for_user(make_user("alice")).fund(USDC="1000")


@pytest.fixture
def bob_api(pipeline):
    return Api.for_user(make_user("bob")).fund(USDC="1000")


def test_order_is_cancelled_and_its_hold_released_when_cancelled_by_id(alice_api):
    placed = alice_api.place(side="buy", price="10", quantity="2").json()
    resp = alice_api.delete("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"])
    assert resp.status_code == 200
    order = resp.json()
    assert (order["order_id"], order["status"], order["expire_reason"]) == (
        placed["order_id"],
        "cancelled",
        "user_cancelled",
    )
    assert alice_api.balances()["USDC"][1] == 0
    again = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"])
    assert again.json()["status"] == "cancelled"


def test_order_is_cancelled_when_cancelled_by_client_order_id(alice_api):
    alice_api.place(side="buy", price="10", quantity="2", client_order_id="k")
    resp = alice_api.delete("/api/v1/order", symbol="SOL_USDC", client_order_id="k")
    assert (resp.status_code, resp.json()["status"]) == (200, "cancelled")


def test_cancel_is_not_found_when_the_order_is_another_users(alice_api, bob_api):
    placed = alice_api.place(side="buy", price="10", quantity="1", client_order_id="k").json()
    for params in ({"order_id": placed["order_id"]}, {"client_order_id": "k"}):
        resp = bob_api.delete("/api/v1/order", symbol="SOL_USDC", **params)
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "order_not_found"
    got = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"])
    assert got.json()["status"] == "new"


def test_cancel_is_not_found_when_the_order_is_already_closed(alice_api):
    placed = alice_api.place(side="buy", price="10", quantity="1").json()
    alice_api.delete("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"])
    resp = alice_api.delete("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"])
    assert resp.status_code == 404
