"""GET /api/v1/user/balances: available and locked per asset, at the asset's decimals."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_balances_are_listed_at_the_assets_decimals_when_funded(pipeline):
    api = Api.for_user(make_user("alice")).fund(USDC="100.5", SOL="2")
    api.place(side="buy", price="10", quantity="1")
    assert api.get("/api/v1/user/balances").json() == [
        {"asset": "SOL", "available": "2.000000000", "locked": "0.000000000"},
        {"asset": "USDC", "available": "90.500000", "locked": "10.000000"},
    ]


def test_balances_are_empty_when_nothing_was_deposited(pipeline):
    assert Api.for_user(make_user("bob")).get("/api/v1/user/balances").json() == []
