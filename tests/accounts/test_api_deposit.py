"""POST /api/v1/user/deposit: recorded, confirmed by the deposit source, credited exactly once.

Celery is eager here: the development source's confirmation task runs at the commit (the
integration tests run it in a real worker, test_money_flows.py)."""

from decimal import Decimal as D

import pytest

from accounts import services
from accounts.models import Deposit, DepositStatus
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("source", ["instant", "dev"])
def test_deposit_is_credited_once_when_its_command_is_sent_again(pipeline, settings, source):
    # given a deposit credited by the matcher, confirmed in the request or by the dev task
    settings.DEPOSIT_SOURCE = source
    api = Api.for_user(make_user("alice"))
    resp = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "25.5"})
    assert resp.status_code == 201
    body = resp.json()
    status = "confirmed" if source == "instant" else "pending"  # the task runs at the commit
    assert (body["asset"], body["amount"], body["status"]) == ("USDC", "25.5", status)
    wait_until(lambda: api.balances().get("USDC") == (D("25.5"), D(0)), what="credited")
    deposit = Deposit.objects.get(pk=body["deposit_id"])
    wait_until(
        lambda: Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED,
        what="deposit row credited",
    )
    # when the same command is sent twice more (the beat task re-sending, a retry), and the
    # confirmation task runs again
    services.deposit_send(deposit)
    services.deposit_send(deposit)
    assert services.deposit_confirm_once(deposit.pk) == "nothing to do (credited)"
    # then the balance is unchanged
    assert api.balances()["USDC"] == (D("25.5"), D(0))


def test_deposit_is_resent_when_confirmed_and_not_credited_after_a_while(pipeline, settings):
    # given a confirmed deposit whose command was lost (never sent)
    settings.DEPOSIT_SOURCE = "operator"
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


def test_deposit_stays_pending_when_an_operator_confirms_deposits(pipeline, settings):
    settings.DEPOSIT_SOURCE = "operator"
    api = Api.for_user(make_user("carol"))
    resp = api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "1"})
    assert (resp.status_code, resp.json()["status"]) == (201, "pending")
    assert api.balances() == {}


def test_deposit_confirmation_task_credits_once_when_run_twice(pipeline, settings):
    # given a deposit the dev source has not confirmed yet (its task not run)
    settings.DEPOSIT_SOURCE = "operator"
    api = Api.for_user(make_user("dora"))
    deposit_id = api.post("/api/v1/user/deposit", {"asset": "SOL", "amount": "2"}).json()[
        "deposit_id"
    ]
    # when the confirmation task runs twice
    assert services.deposit_confirm_once(deposit_id) == "confirmed"
    assert services.deposit_confirm_once(deposit_id) in ("sent again", "nothing to do (credited)")
    # then it is credited once
    wait_until(lambda: api.balances().get("SOL") == (D(2), D(0)), what="credited")
    wait_until(
        lambda: Deposit.objects.get(pk=deposit_id).status == DepositStatus.CREDITED,
        what="row credited",
    )
    assert services.deposit_confirm_once(deposit_id) == "nothing to do (credited)"
    assert api.balances()["SOL"] == (D(2), D(0))


def test_deposit_is_confirmed_by_the_sweep_when_its_task_was_lost(pipeline, settings):
    settings.DEPOSIT_SOURCE = "operator"  # no task queued: as if it was lost
    api = Api.for_user(make_user("erin"))
    api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "3"})
    settings.DEPOSIT_SOURCE = "dev"
    from datetime import timedelta

    assert services.deposits_sweep(older_than=timedelta(0)) == 1
    wait_until(lambda: api.balances().get("USDC") == (D(3), D(0)), what="credited")
