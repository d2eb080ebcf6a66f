"""GET /api/v1/user/orders: the caller's order history, newest first, cursor-paginated."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


class History:
    def __init__(self, api: Api, order_ids: list[int]) -> None:
        self.api = api
        self.ids = order_ids

    def get(self, *args, **kwargs):
        return self.api.get(*args, **kwargs)

    def request(self, *args, **kwargs):
        return self.api.request(*args, **kwargs)


@pytest.fixture
def alice_api(pipeline):
    # given five orders of alice, the oldest cancelled
    api = Api.for_user(make_user("alice")).fund(USDC="1000")
    placed = [api.place(side="buy", price=str(p), quantity="1") for p in (1, 2, 3, 4, 5)]
    order_ids = [resp.json()["order_id"] for resp in placed]
    api.delete("/api/v1/order", symbol="SOL_USDC", order_id=order_ids[0])
    return History(api, order_ids)


def ids(page):
    return [o["order_id"] for o in page["results"]]


def test_history_is_paginated_newest_first_when_a_limit_is_given(alice_api):
    first = alice_api.get("/api/v1/user/orders", limit=2).json()
    assert ids(first) == alice_api.ids[::-1][:2]
    path = first["next"].split("testserver", 1)[1]
    second = alice_api.request("GET", path).json()
    assert ids(second) == alice_api.ids[::-1][2:4]
    assert set(first["results"][0]) >= {"order_id", "status", "fills", "created_at"}


def test_history_is_filtered_by_status_and_time_when_asked(alice_api):
    cancelled = alice_api.get("/api/v1/user/orders", status="cancelled").json()
    assert ids(cancelled) == [alice_api.ids[0]]
    newest = alice_api.get("/api/v1/user/orders").json()["results"][0]
    later = alice_api.get("/api/v1/user/orders", start_time=newest["created_at"] + 1).json()
    assert ids(later) == []
    until = alice_api.get("/api/v1/user/orders", end_time=newest["created_at"]).json()
    assert len(ids(until)) == 5
    assert ids(alice_api.get("/api/v1/user/orders", symbol="BTC_USDC").json()) == []


def test_history_never_shows_another_users_orders_when_asked(alice_api):
    bob = Api.for_user(make_user("bob"))
    assert bob.get("/api/v1/user/orders").json()["results"] == []


def test_history_refuses_a_forged_cursor_with_400_when_given(alice_api):
    resp = alice_api.get("/api/v1/user/orders", cursor="not-a-cursor")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_cursor"
