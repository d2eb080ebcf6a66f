"""E-mails about withdrawals, sent by Celery (eager here) once the change is committed, once."""

import uuid

import pytest
from django.core import mail

from accounts import notifications, payouts, withdrawals
from accounts.models import Withdrawal
from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)
ADDRESS = "0x" + "7" * 40


@pytest.fixture
def api(pipeline):
    user = make_user("alice", email="alice@example.com")
    api = Api.for_user(user, "read", "trade", "withdraw").fund(USDC="3000")
    mail.outbox.clear()
    return api


def subjects() -> list[str]:
    return [str(m.subject) for m in mail.outbox]


def test_a_paid_withdrawal_is_emailed_requested_approved_paid(api):
    api.post("/api/v1/user/withdraw", {"asset": "USDC", "amount": "40", "address": ADDRESS})
    assert subjects() == [
        "Withdrawal of 40 USDC requested",
        "Withdrawal of 40 USDC approved",
        "Withdrawal of 40 USDC paid",
    ]
    assert all(m.to == ["alice@example.com"] for m in mail.outbox)
    paid = mail.outbox[-1].body
    assert ADDRESS in paid and "Transaction: dev-" in paid and "Fee: 1 USDC" in paid


def test_a_failed_payout_is_emailed_with_its_reason(api):
    payouts.set_outcome(ADDRESS, "fail")
    try:
        api.post("/api/v1/user/withdraw", {"asset": "USDC", "amount": "40", "address": ADDRESS})
    finally:
        payouts.set_outcome(ADDRESS, None)
    assert subjects()[-1] == "Withdrawal of 40 USDC failed"
    assert "address_refused" in mail.outbox[-1].body


def test_a_rejected_withdrawal_is_emailed_with_the_operators_reason(api, admin_user):
    wid = api.post(
        "/api/v1/user/withdraw", {"asset": "USDC", "amount": "1500", "address": ADDRESS}
    ).json()["withdrawal_id"]
    withdrawals.reject(Withdrawal.objects.get(pk=wid), actor=admin_user, reason="kyc expired")
    assert subjects() == ["Withdrawal of 1500 USDC requested", "Withdrawal of 1500 USDC rejected"]
    assert "kyc expired" in mail.outbox[-1].body


def test_nothing_is_emailed_when_the_withdrawal_is_refused(api):
    resp = api.post(
        "/api/v1/user/withdraw", {"asset": "USDC", "amount": "5000", "address": ADDRESS}
    )
    assert resp.json()["error"]["code"] == "insufficient_funds"
    assert subjects() == []


def test_a_notification_is_sent_once_when_its_task_runs_twice(api):
    user, notification_id = api.user, uuid.uuid4().hex
    assert notifications.deliver(notification_id, user.pk, "two_factor_enabled", {}) is True
    assert notifications.deliver(notification_id, user.pk, "two_factor_enabled", {}) is False
    assert subjects() == ["Two-factor authentication turned on"]
