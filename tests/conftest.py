"""Shared fixtures: personas (alice, bob, charlie), the demo assets and markets.

pytest-django provides the rest: ``client``, ``admin_client`` (a logged-in superuser),
``settings``, ``django_assert_num_queries``.

Hypothesis: profile "dev" by default; "ci" (derandomized, no deadline) when CI is set.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from accounts.models import Asset, User
from tests import factories
from trading.models import Market

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
