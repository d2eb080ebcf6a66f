"""GET /api/v1/health: 200 when everything is up, 503 "degraded" (never 500) otherwise."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_health_is_ok_when_matcher_and_persister_run(pipeline):
    resp = Client().get("/api/v1/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"]["ok"] and body["checks"]["postgres"]["ok"]
    # the database is named, with the old "postgres" key kept as an alias on PostgreSQL
    assert body["checks"]["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["checks"]["postgres"] == body["checks"]["database"]
    assert body["checks"]["redis"]["version"]
    assert body["checks"]["shards"]["s0"]["matcher_alive"] is True


def test_health_is_degraded_when_no_matcher_runs(api_env):
    resp = Client().get("/api/v1/health")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "degraded"
    assert body["checks"]["shards"]["s0"]["matcher_alive"] is False


def test_health_is_degraded_not_500_when_redis_is_unreachable(api_env, settings):
    from exchange_site import health

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    health._redis.cache_clear()
    try:
        resp = Client().get("/api/v1/health")
    finally:
        health._redis.cache_clear()
    assert resp.status_code == 503
    assert resp.json()["checks"]["redis"]["ok"] is False
