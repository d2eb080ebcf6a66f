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


def test_cancel_all_is_answered_from_the_matcher_when_the_persister_is_stopped(pipeline, alice_api):
    """A cancel's reply must not wait for the persister: market makers cancel, then quote."""
    bob_api = Api.for_user(make_user("bob")).fund(SOL="5")
    old = alice_api.place(side="buy", price="10", quantity="2", client_order_id="old").json()
    alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=old["order_id"])  # persisted
    with pipeline.persisters_stopped():
        fresh = alice_api.place(side="buy", price="9", quantity="3", post_only=True).json()
        assert bob_api.place(side="sell", price="10", quantity="1").status_code == 201

        resp = alice_api.delete("/api/v1/orders", symbol="SOL_USDC")

        assert resp.status_code == 200, resp.content
        by_id = {o["order_id"]: o for o in resp.json()}
        assert set(by_id) == {old["order_id"], fresh["order_id"]}
        for order in by_id.values():
            assert (order["status"], order["expire_reason"]) == ("cancelled", "cancel_all")
            assert "fills" not in order
        was_old, was_fresh = by_id[old["order_id"]], by_id[fresh["order_id"]]
        assert (was_old["client_order_id"], was_old["price"], was_old["quantity"]) == (
            "old",
            "10",
            "2",
        )
        assert (was_old["filled_quantity"], was_old["filled_quote"]) == ("1", "10")
        assert (was_old["side"], was_old["type"], was_old["created_at"]) == (
            "buy",
            "limit",
            old["created_at"],
        )
        assert (was_fresh["price"], was_fresh["quantity"], was_fresh["post_only"]) == (
            "9",
            "3",
            True,
        )
        assert (was_fresh["filled_quantity"], was_fresh["created_at"]) == (
            "0",
            fresh["created_at"],
        )
    # Once persisted, reads agree and list the fill the reply left out.
    got = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=old["order_id"]).json()
    assert (got["status"], got["filled_quantity"], len(got["fills"])) == ("cancelled", "1", 1)
