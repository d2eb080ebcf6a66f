"""POST /api/v1/user/deposit: recorded, confirmed in development, credited exactly once."""

from decimal import Decimal as D

import pytest

from accounts import services
from accounts.models import Deposit, DepositStatus
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_deposit_is_credited_once_when_its_command_is_sent_again(pipeline, settings):
    # given a deposit credited by the matcher
    settings.DEPOSITS_AUTO_CONFIRM = True
    api = Api.for_user(make_user("alice"))
    resp = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "25.5"})
    assert resp.status_code == 201
    body = resp.json()
    assert (body["asset"], body["amount"], body["status"]) == ("USDC", "25.5", "confirmed")
    wait_until(lambda: api.balances().get("USDC") == (D("25.5"), D(0)), what="credited")
    deposit = Deposit.objects.get(pk=body["deposit_id"])
    wait_until(
        lambda: Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED,
        what="deposit row credited",
    )
    # when the same command is sent twice more (the beat task re-sending, a retry)
    services.deposit_send(deposit)
    services.deposit_send(deposit)
    # then the balance is unchanged
    assert api.balances()["USDC"] == (D("25.5"), D(0))


def test_deposit_is_resent_when_confirmed_and_not_credited_after_a_while(pipeline, settings):
    # given a confirmed deposit whose command was lost (never sent)
    settings.DEPOSITS_AUTO_CONFIRM = False
    api = Api.for_user(make_user("bob"))
    deposit_id = api.post("/api/v1/user/deposit", {"asset": "SOL", "amount": "3"}).json()[
        "deposit_id"
    ]
    Deposit.objects.filter(pk=deposit_id).update(status=DepositStatus.CONFIRMED)
    # when the periodic task runs
    from datetime import timedelta

    assert services.deposits_resend(older_than=timedelta(0)) == 1
    # then it is credited
    wait_until(lambda: api.balances().get("SOL") == (D(3), D(0)), what="credited")


def test_deposit_stays_pending_when_auto_confirm_is_off(pipeline, settings):
    settings.DEPOSITS_AUTO_CONFIRM = False
    api = Api.for_user(make_user("carol"))
    resp = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "1"})
    assert (resp.status_code, resp.json()["status"]) == (201, "pending")
    assert api.balances() == {}
