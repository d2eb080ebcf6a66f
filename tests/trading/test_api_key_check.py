"""Order writes check their API key's revocation in the submit of their command.

A key this process has cached skips the markers' MGET on POST/DELETE /order and DELETE /orders;
the submit script refuses a key or user with a switched-off marker on the shard, and the
database decides (accounts.authentication.DeferredKeyCheck). These tests hold the key in the
cache first (one request), so that every write below takes the deferred path.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from accounts import key_cache
from accounts.models import ApiKey
from accounts.services import api_key_revoke
from pipeline.client import shard_map
from pipeline.keys import shard_keys
from pipeline.wire import connect
from tests.api import Api
from tests.factories import make_user
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS
from trading.models import Order

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.django_db(transaction=True)]

BUY = {"side": "buy", "price": "10", "quantity": "1"}


def commands_sent() -> int:
    rds = connect(settings.REDIS_URL)
    return sum(rds.xlen(shard_keys(s).commands) for s in shard_map().shards)


@pytest.fixture
def alice_api(pipeline: Any) -> Api:
    api = Api.for_user(make_user("alice")).fund(USDC="1000")
    assert api.place(**BUY).status_code == 201  # the key is now in this process's cache
    return api


WRITES = [
    ("place", lambda api: api.place(**BUY)),
    ("cancel", lambda api: api.delete("/api/v1/order", symbol="SOL_USDC", order_id=1)),
    ("cancel_all", lambda api: api.delete("/api/v1/orders", symbol="SOL_USDC")),
    ("bad_body", lambda api: api.place(side="buy", price="10.001", quantity="1")),
    ("bad_query", lambda api: api.delete("/api/v1/orders", symbol="NOPE")),
    ("not_allowed", lambda api: api.post("/api/v1/orders", {})),  # a write this path lacks
]


@pytest.mark.parametrize("write", [w for _, w in WRITES], ids=[n for n, _ in WRITES])
def test_a_write_is_refused_and_sends_nothing_when_its_cached_key_was_revoked(alice_api, write):
    api_key_revoke(alice_api.api_key)
    before = commands_sent()

    resp = write(alice_api)

    assert resp.status_code == 401, resp.content
    assert resp.json()["error"]["code"] == "api_key_revoked"
    assert commands_sent() == before


def test_a_write_is_refused_as_revoked_when_its_cached_key_also_lacks_the_permission(
    alice_api,
):
    reader = Api.for_user(alice_api.user, "read")
    assert reader.get("/api/v1/orders").status_code == 200  # the key is now in the cache
    api_key_revoke(reader.api_key)

    resp = reader.place(**BUY)

    assert resp.status_code == 401, resp.content
    assert resp.json()["error"]["code"] == "api_key_revoked"


def test_a_write_is_refused_when_the_user_of_its_cached_key_was_deactivated(alice_api):
    alice_api.user.is_active = False
    alice_api.user.save()  # accounts.apps.user_saved writes the user's markers
    before = commands_sent()

    resp = alice_api.place(**BUY)

    assert resp.status_code == 401, resp.content
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert commands_sent() == before


def test_a_write_goes_through_once_when_a_marker_outlived_a_change_that_rolled_back(alice_api):
    key_cache.mark_key_off(alice_api.api_key.key_id)  # as if the revocation had rolled back
    before = commands_sent()

    resp = alice_api.place(**BUY)

    assert resp.status_code == 201, resp.content
    assert commands_sent() == before + 1  # the refused submit appended nothing
    order_id = resp.json()["order_id"]
    # read-your-writes: the persister has written it once the read answers
    found = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=order_id)
    assert found.status_code == 200, found.content
    assert Order.objects.filter(user=alice_api.user, pk=order_id).count() == 1
    assert ApiKey.objects.get(pk=alice_api.api_key.pk).revoked_at is None


def test_the_revocation_marker_has_a_copy_on_every_shard_when_a_key_is_revoked(alice_api):
    api_key_revoke(alice_api.api_key)
    rds = connect(settings.REDIS_URL)
    for shard in shard_map().shards:
        key = shard_keys(shard).key_off(alice_api.api_key.key_id)
        assert rds.exists(key)
        assert 0 < rds.ttl(key) <= 2 * settings.API_KEY_CACHE_TTL_S + 1


def test_a_read_still_checks_the_markers_itself_when_its_key_is_cached(alice_api):
    api_key_revoke(alice_api.api_key)
    resp = alice_api.get("/api/v1/orders", symbol="SOL_USDC")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "api_key_revoked"
