"""DELETE /api/v1/order: cancel one of the caller's orders."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipeline.keys import shard_keys
from pipeline.wire import connect
from tests.api import Api
from tests.factories import make_user
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.django_db(transaction=True)]


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


def _order_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if '"trading_order"' in q["sql"]]


def test_cancels_read_no_order_rows_when_the_orders_are_open_in_redis(alice_api):
    # given two resting orders, persisted (their placeholders gone, their placed copies kept)
    first = alice_api.place(side="buy", price="10", quantity="2").json()
    second = alice_api.place(side="buy", price="9", quantity="1").json()
    alice_api.get("/api/v1/orders")  # read-your-writes: both persisted

    # when one is cancelled by id and then the rest by a cancel-all
    with CaptureQueriesContext(connection) as one:
        by_id = alice_api.delete("/api/v1/order", symbol="SOL_USDC", order_id=first["order_id"])
    with CaptureQueriesContext(connection) as every:
        rest = alice_api.delete("/api/v1/orders", symbol="SOL_USDC")

    # then both replies show the orders as placed, and neither read an order row
    assert (by_id.json()["price"], by_id.json()["quantity"]) == ("10", "2")
    [was] = rest.json()
    assert (was["order_id"], was["price"], was["status"]) == (second["order_id"], "9", "cancelled")
    assert _order_queries(one.captured_queries) == []
    assert _order_queries(every.captured_queries) == []


def test_a_cancel_reply_falls_back_to_the_row_when_redis_has_no_placed_copy(alice_api):
    # given a persisted resting order whose placed copy is gone (expired, or placed before
    # copies were kept)
    placed = alice_api.place(side="buy", price="12", quantity="3", client_order_id="k1")
    alice_api.place(side="buy", price="1", quantity="1")
    alice_api.get("/api/v1/orders")
    redis = connect(settings.REDIS_URL)
    redis.delete(shard_keys("s0").placed(alice_api.user.pk))

    # when it is cancelled (by client id, and the rest by a cancel-all)
    one = alice_api.delete("/api/v1/order", symbol="SOL_USDC", client_order_id="k1").json()
    [rest] = alice_api.delete("/api/v1/orders", symbol="SOL_USDC").json()

    # then the replies still carry what the orders were placed with, from their rows
    assert (one["order_id"], one["side"], one["price"], one["quantity"]) == (
        placed.json()["order_id"],
        "buy",
        "12",
        "3",
    )
    assert (rest["side"], rest["price"], rest["status"]) == ("buy", "1", "cancelled")
