"""Shared fixtures: personas (alice, bob, charlie), the demo assets and markets.

pytest-django provides the rest: ``client``, ``admin_client`` (a logged-in superuser),
``settings``, ``django_assert_num_queries``.

Hypothesis: profile "dev" by default; "ci" (derandomized, no deadline) when CI is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import settings as hypothesis_settings

from accounts.models import Asset, User
from exchange_site.celery import app as celery_app
from tests import factories
from tests.support.pipeline import InProcessPipeline
from trading.models import Market

# Celery tasks run inline in the test process (eager), raising what they raise. Only unit and
# endpoint tests see this: integration tests (tests/integration) run a real worker process.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True

hypothesis_settings.register_profile("dev")  # Hypothesis' defaults: random, 100 examples
# CI: the same examples on every run (a red build is reproducible) and no timing flakiness.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def alice(db: None) -> User:
    return factories.make_user("alice")


@pytest.fixture
def bob(db: None) -> User:
    return factories.make_user("bob")


@pytest.fixture
def charlie(db: None) -> User:
    return factories.make_user("charlie")


@pytest.fixture
def assets(db: None) -> dict[str, Asset]:
    return {code: factories.make_asset(code) for code in ("USDC", "SOL", "BTC", "ETH")}


@pytest.fixture
def sol_usdc(assets: dict[str, Asset]) -> Market:
    return factories.make_market("SOL_USDC")


@pytest.fixture
def markets(assets: dict[str, Asset]) -> dict[str, Market]:
    return {s: factories.make_market(s) for s in ("SOL_USDC", "BTC_USDC", "ETH_USDC")}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """PBKDF2's million rounds cost most of a second per user on this machine; tests need none."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_money_paths(settings: Any) -> None:
    """The development deposit source and payout backend without their human-scale delays."""
    settings.DEPOSIT_DEV_CONFIRM_DELAY_S = 0
    settings.PAYOUT_DEV_DELAY_S = 0
    settings.PAYOUT_DEV_SLOW_S = 0
    settings.PAYOUT_DEV_HANG_S = 1


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The zero-config run's redis-server (tests/support/embedded_redis.py), once per session."""
    from tests.support.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("embedded-redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_server(request: pytest.FixtureRequest, settings: Any) -> str:
    """The Redis a test talks to: REDIS_URL (the local server) unless the module runs on both
    (``ON_BOTH_REDIS_SERVERS``), then also the embedded 6.2, as command log, cache and broker."""
    if getattr(request, "param", "local") == "embedded":
        url = request.getfixturevalue("embedded_redis")
        settings.REDIS_URL = settings.CACHE_REDIS_URL = url
        settings.CACHES = {
            "default": {**django_settings.CACHES["default"], "LOCATION": url},
        }
    return str(settings.REDIS_URL)


@pytest.fixture
def generous_throttles(settings: Any, redis_server: str) -> None:
    """Throttle rates no endpoint test reaches (the throttling tests set their own), and no
    counters left by earlier tests (the cache is Redis db 15, used by tests only)."""
    from django.core.cache import cache

    # Not cache.clear(): that is FLUSHDB, which would also wipe the command log of any
    # matcher sharing this Redis database.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    stale = list(client.scan_iter(match="cache:*", count=1000))
    if stale:
        client.delete(*stale)
    rates = dict.fromkeys(("anon", "user", "signup", "orders"), "1000000/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def api_env(generous_throttles: None) -> None:
    """Endpoint tests without a pipeline: no exchange keys left in Redis by earlier tests (a
    stale read-your-writes marker would make reads wait for a persister that is not there)."""
    from pipeline.wire import connect
    from tests.support.pipeline import flush_exchange_keys

    flush_exchange_keys(connect(django_settings.REDIS_URL))


@pytest.fixture
def pipeline(
    transactional_db: None, markets: dict[str, Market], generous_throttles: None
) -> Iterator[InProcessPipeline]:
    """The demo markets, and the real matcher and persister in threads, on the test database and
    Redis db 15.

    Tests using it commit (the threads must see the rows), so pytest-django flushes the tables
    afterwards; the fee account comes back through post_migrate (accounts/apps.py).
    """
    from accounts.apps import ensure_fee_account

    ensure_fee_account(None)  # type: ignore[arg-type]
    running = InProcessPipeline().start()
    try:
        yield running
    finally:
        running.stop()
