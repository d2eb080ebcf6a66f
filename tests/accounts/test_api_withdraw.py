"""POST /api/v1/user/withdraw: funds held at once; operators complete or reject."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import Withdrawal, WithdrawalStatus
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"asset": "USDC", "amount": "40", "address": "bc1-some-address"}


@pytest.fixture
def api(pipeline):
    return Api.for_user(make_user("alice"), "read", "trade", "withdraw").fund(USDC="100")


def test_withdrawal_holds_the_funds_when_requested(api):
    resp = api.post("/api/v1/user/withdraw", BODY)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["status"], body["amount"], body["address"]) == ("pending", "40", BODY["address"])
    assert api.balances()["USDC"] == (D(60), D(40))


def test_withdrawal_is_refused_and_marked_failed_when_funds_are_short(api):
    resp = api.post("/api/v1/user/withdraw", {**BODY, "amount": "100.000001"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "insufficient_funds"
    assert Withdrawal.objects.get().status == WithdrawalStatus.FAILED
    assert api.balances()["USDC"] == (D(100), D(0))


def test_withdrawal_funds_come_back_when_an_operator_rejects_it(api, admin_client):
    withdrawal_id = api.post("/api/v1/user/withdraw", BODY).json()["withdrawal_id"]
    admin_client.post(
        reverse("admin:accounts_withdrawal_changelist"),
        {"action": "reject", "_selected_action": [withdrawal_id]},
    )
    assert Withdrawal.objects.get(pk=withdrawal_id).status == WithdrawalStatus.REJECTED
    assert api.balances()["USDC"] == (D(100), D(0))


def test_withdrawal_leaves_the_venue_when_approved_then_completed(api, admin_client):
    withdrawal_id = api.post("/api/v1/user/withdraw", BODY).json()["withdrawal_id"]
    url = reverse("admin:accounts_withdrawal_changelist")
    for action in ("approve", "complete"):
        admin_client.post(url, {"action": action, "_selected_action": [withdrawal_id]})
    wait_until(
        lambda: Withdrawal.objects.get(pk=withdrawal_id).status == WithdrawalStatus.COMPLETED,
        what="withdrawal completed",
    )
    assert api.balances()["USDC"] == (D(60), D(0))
