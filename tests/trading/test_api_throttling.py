"""Throttling: 429 "throttled" with Retry-After once a scope's rate is spent."""

import math
import time

import pytest
from django.conf import settings
from django.test import Client

from pipeline.keys import shard_keys
from pipeline.wire import connect
from tests.api import Api
from tests.factories import make_user
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS
from trading.models import Order

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.usefixtures("api_env")]


@pytest.fixture
def rates(settings):
    def set_rates(**scopes: str) -> None:
        base = dict.fromkeys(("anon", "user", "signup", "orders"), "1000/min")
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**base, **scopes},
        }

    return set_rates


def test_user_is_throttled_with_retry_after_when_the_rate_is_spent(alice, rates):
    rates(user="3/min")
    api = Api.for_user(alice)
    codes = [api.get("/api/v1/account").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = api.get("/api/v1/account")
    assert resp.json()["error"]["code"] == "throttled"
    assert 1 <= int(resp["Retry-After"]) <= 61


def test_order_writes_count_against_the_orders_scope_when_placed(alice, markets, rates):
    rates(orders="2/min")
    api = Api.for_user(alice)
    # (an unlisted market: refused by the view, after the throttle counted it)
    codes = [api.delete("/api/v1/orders", symbol="NOPE_USDC").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert api.get("/api/v1/account").status_code == 200  # reads use the user scope


def test_a_write_method_a_path_lacks_counts_against_the_orders_scope(alice, markets, rates):
    rates(orders="2/min", user="2/min")
    api = Api.for_user(alice)
    codes = [api.post("/api/v1/orders", {}).status_code for _ in range(3)]
    assert codes == [405, 405, 429]
    assert api.get("/api/v1/account").status_code == 200  # not counted in the user scope


def test_anonymous_requests_are_throttled_per_address_when_the_rate_is_spent(db, rates):
    rates(anon="2/min")
    codes = [Client().get("/api/v1/markets").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_signup_is_throttled_when_the_rate_is_spent(db, rates):
    rates(signup="1/hour")
    body = {"username": "dora", "password": "a-long-pass-phrase-9", "email": "d@e.com"}
    first = Client().post("/api/v1/users", body, content_type="application/json")
    before = time.time()
    second = Client().post(
        "/api/v1/users", {**body, "username": "eve"}, content_type="application/json"
    )
    after = time.time()
    assert (first.status_code, second.status_code) == (201, 429)
    # the wait is what is left of the hour's window (fixed windows aligned to the epoch): it
    # was "more than a minute", which failed in the last minute of every hour
    window_end = (int(before // 3600) + 1) * 3600
    assert (
        math.ceil(window_end - after)
        <= int(second["Retry-After"])
        <= math.ceil(window_end - before)
    )


@pytest.mark.django_db(transaction=True)
def test_orders_past_the_limit_get_429_and_never_reach_the_matcher(pipeline, rates):
    # given a funded trader allowed two order writes a minute
    api = Api.for_user(make_user("busy")).fund(USDC="1000")
    rates(orders="2/min")
    log = connect(settings.REDIS_URL)
    before = log.xlen(shard_keys("s0").commands)

    # when it places three orders
    codes = [api.place(side="buy", price="10", quantity="1").status_code for _ in range(3)]

    # then the third is refused with Retry-After, and only two commands were appended
    assert codes == [201, 201, 429]
    assert log.xlen(shard_keys("s0").commands) == before + 2
    resp = api.place(side="buy", price="10", quantity="1")
    assert resp.json()["error"]["code"] == "throttled"
    assert 1 <= int(resp["Retry-After"]) <= 61
    rates(orders="1000/min")
    assert len(api.get("/api/v1/orders").json()) == 2  # read-your-writes: both, persisted
    assert Order.objects.filter(user__username="busy").count() == 2


def test_invalid_order_bodies_count_against_the_orders_scope_when_refused(alice, rates):
    rates(orders="2/min")
    api = Api.for_user(alice)
    bad = {"symbol": "SOL_USDC", "side": "buy", "type": "limit", "price": 10, "quantity": "1"}
    codes = [api.post("/api/v1/order", bad).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
