"""202 "pending": the command is durable but no matcher answered within the timeout."""

import pytest

from tests.api import Api

pytestmark = pytest.mark.usefixtures("api_env")


@pytest.fixture
def api(alice, markets, settings):
    settings.ORDER_REPLY_TIMEOUT = 0.05
    settings.READ_YOUR_WRITES_TIMEOUT = 0.05
    from pipeline.client import _local

    _local.__dict__.pop("client", None)  # a client built with the short timeout
    yield Api.for_user(alice)
    _local.__dict__.pop("client", None)


def test_order_is_accepted_as_pending_when_no_matcher_answers(api):
    resp = api.place(side="buy", price="1", quantity="1", client_order_id="p-1")
    assert resp.status_code == 202
    order = resp.json()
    assert (order["status"], order["fills"], order["client_order_id"]) == ("pending", [], "p-1")
    assert order["order_id"] > 0


def test_pending_order_is_readable_by_id_and_listed_as_open_when_not_processed_yet(api):
    order = api.place(side="buy", price="1", quantity="1", client_order_id="p-2").json()
    by_id = api.get("/api/v1/order", symbol="SOL_USDC", order_id=order["order_id"])
    by_client_id = api.get("/api/v1/order", symbol="SOL_USDC", client_order_id="p-2")
    assert by_id.json() == by_client_id.json() == order
    assert [o["order_id"] for o in api.get("/api/v1/orders").json()] == [order["order_id"]]


def test_cancel_is_accepted_as_pending_when_no_matcher_answers(api):
    resp = api.delete("/api/v1/order", symbol="SOL_USDC", order_id=5)
    assert resp.status_code == 202
    assert resp.json() == {
        "order_id": 5,
        "client_order_id": None,
        "symbol": "SOL_USDC",
        "status": "pending",
    }


def test_pending_order_of_another_user_is_not_found_when_asked(api, bob):
    order = api.place(side="buy", price="1", quantity="1").json()
    other = Api.for_user(bob)
    resp = other.get("/api/v1/order", symbol="SOL_USDC", order_id=order["order_id"])
    assert resp.status_code == 404
    assert other.get("/api/v1/orders").json() == []
