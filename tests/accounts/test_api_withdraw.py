"""POST /api/v1/user/withdraw and the lifecycle behind it, with the real matcher and persister
in threads and Celery eager (the integration tests run a real worker: test_money_flows.py).

USDC (demo policy): EVM addresses, minimum 10, fee 1, approved at once up to 1000, 50,000 a
day per user.
"""

from decimal import Decimal as D

import pytest
from django.db.models import Sum

from accounts import payouts, withdrawals
from accounts.models import Balance, Withdrawal, WithdrawalStatus
from accounts.selectors import fee_account_id
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "0x" + "ab" * 20
BODY = {"asset": "USDC", "amount": "40", "address": ADDRESS}
BIG = {**BODY, "amount": "1500"}  # above the auto-approval threshold: waits for an operator


@pytest.fixture
def api(pipeline):
    return Api.for_user(make_user("alice"), "read", "trade", "withdraw").fund(USDC="2000")


@pytest.fixture
def outcomes():
    """Tell the dev payout backend what to do for an address; forgotten afterwards."""
    chosen: list[str] = []

    def choose(address: str, outcome: str) -> None:
        chosen.append(address)
        payouts.set_outcome(address, outcome)

    yield choose
    for address in chosen:
        payouts.set_outcome(address, None)


def fees() -> D:
    row = Balance.objects.filter(user_id=fee_account_id(), asset__code="USDC").first()
    return row.available if row else D(0)


def conserved(pipeline) -> None:
    """Per asset, every balance (fee account included) = credited deposits - settled amounts."""
    for engine in (m.engine for m in pipeline.matchers.values()):
        engine.validate()
    held = Balance.objects.filter(asset__code="USDC").aggregate(a=Sum("available"), b=Sum("locked"))
    out = Withdrawal.objects.filter(asset__code="USDC", settled_at__isnull=False).aggregate(
        s=Sum("amount")
    )["s"] or D(0)
    assert held["a"] + held["b"] == D(2000) - out


def settled(withdrawal_id: int) -> bool:
    return Withdrawal.objects.get(pk=withdrawal_id).settled_at is not None


def test_withdrawal_is_paid_out_and_charged_its_fee_when_below_the_threshold(api, pipeline):
    # when alice withdraws 40 USDC (approved at once, paid by the dev backend)
    resp = api.post("/api/v1/user/withdraw", BODY)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["amount"], body["fee"], body["address"]) == ("40", "1", ADDRESS)
    assert body["status"] == "approved"
    wid = body["withdrawal_id"]
    # then it is completed with the backend's transaction id, and settled by the engine
    wait_until(lambda: settled(wid), what="settled")
    row = Withdrawal.objects.get(pk=wid)
    assert row.status == WithdrawalStatus.COMPLETED and row.txid.startswith("dev-")
    assert row.approved_by is None  # automatically
    # and 41 left alice: 40 out of the venue, 1 to the fee account
    assert api.balances()["USDC"] == (D(1959), D(0))
    assert fees() == D(1)
    conserved(pipeline)


def test_withdrawal_holds_amount_and_fee_when_it_waits_for_an_operator(api, pipeline):
    resp = api.post("/api/v1/user/withdraw", BIG)
    assert resp.status_code == 201, resp.content
    assert resp.json()["status"] == "pending"
    assert api.balances()["USDC"] == (D(499), D(1501))
    assert Withdrawal.objects.get().held_at is not None


def test_withdrawal_funds_come_back_when_the_user_cancels_it(api, pipeline):
    wid = api.post("/api/v1/user/withdraw", BIG).json()["withdrawal_id"]
    resp = api.post(f"/api/v1/user/withdrawals/{wid}/cancel", None)
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "cancelled"
    wait_until(lambda: api.balances()["USDC"] == (D(2000), D(0)), what="released")
    # and a second cancel, or one of an approved withdrawal, is refused
    again = api.post(f"/api/v1/user/withdrawals/{wid}/cancel", None)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "illegal_transition")
    conserved(pipeline)


def test_withdrawal_cancel_is_not_found_when_it_is_another_users(api, pipeline):
    wid = api.post("/api/v1/user/withdraw", BIG).json()["withdrawal_id"]
    other = Api.for_user(make_user("mallory"), "read", "withdraw")
    resp = other.post(f"/api/v1/user/withdrawals/{wid}/cancel", None)
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "withdrawal_not_found")
    assert Withdrawal.objects.get(pk=wid).status == WithdrawalStatus.PENDING
    huge = other.post(f"/api/v1/user/withdrawals/{2**70}/cancel", None)  # beyond a bigint
    assert (huge.status_code, huge.json()["error"]["code"]) == (404, "withdrawal_not_found")


def test_withdrawal_is_refused_and_marked_failed_when_funds_are_short(api, pipeline):
    # 2000 available: 2000 + the fee of 1 is not
    resp = api.post("/api/v1/user/withdraw", {**BIG, "amount": "2000"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "insufficient_funds"
    assert Withdrawal.objects.get().status == WithdrawalStatus.FAILED
    assert api.balances()["USDC"] == (D(2000), D(0))


def test_withdrawal_funds_come_back_when_an_operator_rejects_it(api, pipeline, admin_user):
    wid = api.post("/api/v1/user/withdraw", BIG).json()["withdrawal_id"]
    withdrawals.reject(Withdrawal.objects.get(pk=wid), actor=admin_user, reason="kyc missing")
    wait_until(lambda: api.balances()["USDC"] == (D(2000), D(0)), what="released")
    history = api.get("/api/v1/user/withdrawals").json()["results"][0]
    assert (history["status"], history["reason"]) == ("rejected", "kyc missing")
    conserved(pipeline)


def test_withdrawal_is_paid_when_an_operator_approves_it(api, pipeline, admin_user):
    wid = api.post("/api/v1/user/withdraw", BIG).json()["withdrawal_id"]
    withdrawals.approve(Withdrawal.objects.get(pk=wid), actor=admin_user, reason="known user")
    wait_until(lambda: settled(wid), what="settled")
    assert api.balances()["USDC"] == (D(499), D(0))
    assert fees() == D(1)
    conserved(pipeline)


def test_withdrawal_is_released_when_the_payout_fails(api, pipeline, outcomes):
    outcomes(ADDRESS, "fail")
    wid = api.post("/api/v1/user/withdraw", BODY).json()["withdrawal_id"]
    wait_until(lambda: Withdrawal.objects.get(pk=wid).released_at is not None, what="released")
    row = Withdrawal.objects.get(pk=wid)
    assert (row.status, row.reject_reason) == ("failed", "address_refused")
    assert api.balances()["USDC"] == (D(2000), D(0))
    assert fees() == D(0)
    conserved(pipeline)


def test_withdrawal_times_out_then_an_operator_resolves_it_when_the_backend_hangs(
    api, pipeline, outcomes, settings, admin_user
):
    # given a backend that never answers (eager tasks have no time limit: it gives up after
    # PAYOUT_DEV_HANG_S and the payout stays processing)
    outcomes(ADDRESS, "hang")
    wid = api.post("/api/v1/user/withdraw", BODY).json()["withdrawal_id"]
    assert Withdrawal.objects.get(pk=wid).status == WithdrawalStatus.PROCESSING
    # when the sweep finds it past the timeout
    settings.WITHDRAWAL_PAYOUT_TIMEOUT_S = 0
    assert withdrawals.sweep()["stale"] == 1
    assert Withdrawal.objects.get(pk=wid).status == WithdrawalStatus.TIMED_OUT
    assert api.balances()["USDC"] == (D(1959), D(41))  # still held
    # then an operator who found nothing paid fails it, and the funds come back
    withdrawals.resolve_failed(
        Withdrawal.objects.get(pk=wid), actor=admin_user, reason="no transaction on chain"
    )
    wait_until(lambda: api.balances()["USDC"] == (D(2000), D(0)), what="released")
    conserved(pipeline)


def test_payout_task_pays_once_when_run_twice(api, pipeline):
    wid = api.post("/api/v1/user/withdraw", BODY).json()["withdrawal_id"]
    wait_until(lambda: settled(wid), what="settled")
    # the task again (a redelivery, a sweep): nothing more happens
    assert withdrawals.pay(wid) == "nothing to do (completed)"
    reference = str(Withdrawal.objects.get(pk=wid).transfer_id)
    assert payouts.DevPayoutBackend().payments(reference) == 1
    assert api.balances()["USDC"] == (D(1959), D(0))
    conserved(pipeline)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"address": "bc1-some-address"}, "invalid_address"),
        ({"address": "0x" + "ab" * 19}, "invalid_address"),
        ({"amount": "9.999999"}, "below_minimum"),
        ({"amount": "40.0000001"}, "invalid_amount"),
        ({"amount": "0"}, "invalid_amount"),
        ({"asset": "DOGE"}, "unknown_asset"),
        ({"amount": 40}, "invalid_request"),
    ],
)
def test_withdrawal_is_refused_with_its_code_when_the_request_is_invalid(pipeline, change, code):
    api = Api.for_user(make_user("alice"), "read", "withdraw")
    resp = api.post("/api/v1/user/withdraw", {**BODY, **change})
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == code
    assert not Withdrawal.objects.exists()


def test_withdrawal_is_refused_when_it_exceeds_the_24h_limit(api, pipeline, assets):
    assets["USDC"].__class__.objects.filter(code="USDC").update(withdrawal_daily_limit=D(100))
    assert api.post("/api/v1/user/withdraw", {**BODY, "amount": "60"}).status_code == 201
    resp = api.post("/api/v1/user/withdraw", {**BODY, "amount": "50"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "withdrawal_limit_exceeded"
    assert error["details"] == {"limit": "100", "used": "60", "remaining": "40"}
    assert api.post("/api/v1/user/withdraw", {**BODY, "amount": "40"}).status_code == 201


def test_withdrawal_is_forbidden_when_the_key_lacks_the_withdraw_permission(pipeline):
    api = Api.for_user(make_user("alice"), "read", "trade")
    resp = api.post("/api/v1/user/withdraw", BODY)
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "missing_permission")
    cancel = api.post("/api/v1/user/withdrawals/1/cancel", None)
    assert (cancel.status_code, cancel.json()["error"]["code"]) == (403, "missing_permission")
