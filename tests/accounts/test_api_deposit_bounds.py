"""Deposits at the bound through the API, the matcher and the persister (the overflow of
issue 15: one deposit could take a balance past what the database stores)."""

from decimal import Decimal

import pytest

from accounts.models import Deposit
from matching.arith import max_balance_atoms
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_deposit_of_the_whole_maximum_is_stored_and_one_more_atom_is_rejected(
    pipeline, settings
) -> None:
    """The issue's overflow, through the API: the largest deposit is credited and stored; the
    next one is refused by the engine (the sum would pass the bound), not by Postgres."""
    settings.DEPOSITS_AUTO_CONFIRM = True
    api = Api.for_user(make_user("whale"))
    largest = "9999999999999999999.999999"  # USDC has 6 decimals: 10**19 less one atom
    assert max_balance_atoms(6) == int(largest.replace(".", ""))

    too_big = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "10000000000000000000"})
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (400, "invalid_amount")
    assert too_big.json()["error"]["details"]["max_amount"] == largest

    first = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": largest})
    assert first.status_code == 201
    wait_until(
        lambda: api.balances().get("USDC") == (Decimal(largest), Decimal(0)), what="credited"
    )

    second = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "0.000001"})
    assert second.status_code == 201  # sent; the engine decides on the venue's total
    wait_until(
        lambda: Deposit.objects.get(pk=second.json()["deposit_id"]).status == "rejected",
        what="the deposit beyond the bound rejected",
    )
    assert api.balances()["USDC"] == (Decimal(largest), Decimal(0))
    assert not pipeline.errors
