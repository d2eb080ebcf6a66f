"""PATCH /api/v1/order: amend a resting order through the real matcher and persister (in
threads): the reply is the order after the amend with kept_priority, the hold follows, and the
engine's refusals are 4xx with their codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api import Api
from tests.factories import make_user
from tests.trading.test_order_representation import conforms
from trading.serializers import AmendedOrderOutputSerializer

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture
def trader(pipeline):
    return Api.for_user(make_user("amender")).fund(SOL="10", USDC="1000")


def amend(api: Api, **body: Any) -> Any:
    return api.request("PATCH", "/api/v1/order", {"symbol": "SOL_USDC", **body})


def test_a_smaller_quantity_keeps_priority_and_releases_hold_when_amended(trader):
    placed = trader.place(side="buy", price="20", quantity="3", client_order_id="a-1").json()
    assert trader.balances()["USDC"] == (D(940), D(60))

    resp = amend(trader, client_order_id="a-1", quantity="1")

    assert resp.status_code == 200, resp.content
    order = resp.json()
    conforms(order, AmendedOrderOutputSerializer())
    assert (order["order_id"], order["quantity"], order["kept_priority"]) == (
        placed["order_id"], "1", True,
    )  # fmt: skip
    assert trader.balances()["USDC"] == (D(980), D(20))


def test_a_price_change_loses_priority_when_amended(trader):
    placed = trader.place(side="sell", price="30", quantity="1").json()

    resp = amend(trader, order_id=placed["order_id"], price="31")

    assert resp.status_code == 200, resp.content
    assert (resp.json()["price"], resp.json()["kept_priority"]) == ("31", False)
    got = trader.get("/api/v1/order", symbol="SOL_USDC", order_id=placed["order_id"]).json()
    assert got["price"] == "31"


def test_an_amend_is_refused_with_the_engines_code_when_it_cannot_apply(trader):
    bid = trader.place(side="buy", price="20", quantity="1").json()
    trader.place(side="sell", price="25", quantity="1")

    unknown = amend(trader, order_id=999_999_999, quantity="1")
    crossing = amend(trader, order_id=bid["order_id"], price="25")  # would trade: never

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "order_not_found")
    assert (crossing.status_code, crossing.json()["error"]["code"]) == (
        409, "post_only_would_take",
    )  # fmt: skip
