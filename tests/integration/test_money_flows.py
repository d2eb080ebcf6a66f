"""Money in and out with every part real: the REST server, the matcher, the persister, and a
Celery worker and beat as the run command starts them (the dev deposit source confirms deposits,
the dev payout backend pays, beat sweeps withdrawals and reconciles).

Every flow ends with exact balances; the module ends with conservation for every asset (fee
account included) and a reconciliation that finds nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
from django.contrib.auth.models import Group
from django.db.models import Sum

from accounts import payouts
from accounts.apps import OPERATORS_GROUP
from accounts.models import (
    AuditLogEntry,
    Balance,
    Deposit,
    DepositStatus,
    ReconciliationRun,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from accounts.selectors import fee_account_id
from exchange_site.celery import app as celery_app
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db

PAYOUT_TIMEOUT_S = 4


def address(n: int) -> str:
    return f"0x{n:040x}"


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("var")
    env = {
        "DEPOSIT_SOURCE": "dev",
        "DEPOSIT_DEV_CONFIRM_DELAY_S": "0.2",
        "PAYOUT_BACKEND": "dev",
        "PAYOUT_DEV_DELAY_S": "0.2",
        "PAYOUT_DEV_SLOW_S": "60",
        "WITHDRAWAL_PAYOUT_TIMEOUT_S": str(PAYOUT_TIMEOUT_S),
        "WITHDRAWAL_SWEEP_S": "1",
        "WITHDRAWAL_SWEEP_GRACE_S": "2",
        "RECONCILE_EVERY_S": "3600",  # run by the test, where it can look at the result
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(var_dir / "emails"),
        "VAR_DIR": str(var_dir),
    }
    # Tasks this process sends (an operator's action through a service) go to the worker.
    celery_app.conf.task_always_eager = False
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, celery=True, extra_env=env)
        try:
            yield running
        finally:
            celery_app.conf.task_always_eager = True
            stop_stack(running)


def usdc(trader: Trader) -> tuple[D, D]:
    resp = trader.api.get("/api/v1/user/balances")
    assert resp.status_code == 200, resp.text
    row = next((b for b in resp.json() if b["asset"] == "USDC"), None)
    return (D(row["available"]), D(row["locked"])) if row else (D(0), D(0))


def withdraw(trader: Trader, amount: str, to: str, **extra: str) -> requests.Response:
    return trader.api.post(
        "/api/v1/user/withdraw", {"asset": "USDC", "amount": amount, "address": to, **extra}
    )


def row(withdrawal_id: int) -> Withdrawal:
    return Withdrawal.objects.get(pk=withdrawal_id)


def settled(withdrawal_id: int) -> bool:
    return row(withdrawal_id).settled_at is not None


def released(withdrawal_id: int) -> bool:
    return row(withdrawal_id).released_at is not None


def fee_balance() -> D:
    found = Balance.objects.filter(user_id=fee_account_id(), asset__code="USDC").first()
    return found.available if found else D(0)


@pytest.fixture
def outcomes() -> Iterator[Any]:
    chosen: list[str] = []

    def choose(to: str, outcome: str) -> None:
        chosen.append(to)
        payouts.set_outcome(to, outcome)

    yield choose
    for to in chosen:
        payouts.set_outcome(to, None)


# --- Deposits -------------------------------------------------------------------------------------


def test_deposit_is_confirmed_by_the_worker_and_a_repeated_task_credits_once(stack: Stack) -> None:
    # given a deposit: pending when answered, confirmed by the worker's task, credited
    trader = stack.signup("depositor", ["read", "trade", "withdraw"])
    resp = trader.api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "25"})
    assert (resp.status_code, resp.json()["status"]) == (201, "pending")
    deposit_id = resp.json()["deposit_id"]
    wait_until(lambda: usdc(trader) == (D(25), D(0)), timeout=15, what="credited by the task")
    # when its confirmation task runs twice more (a redelivery, a retry)
    for _ in range(2):
        celery_app.send_task("accounts.tasks.confirm_deposit", args=[deposit_id])
    # and then a second deposit goes through the same worker (one task at a time, in order)
    trader.api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "1"})
    wait_until(lambda: usdc(trader) == (D(26), D(0)), timeout=15, what="second deposit")
    # then the first was credited once
    assert Deposit.objects.get(pk=deposit_id).status == DepositStatus.CREDITED


# --- Withdrawals ----------------------------------------------------------------------------------


def test_withdrawal_below_the_threshold_is_paid_and_its_fee_charged(stack: Stack) -> None:
    trader = stack.funded("payee", USDC="100")
    fees_before = fee_balance()
    resp = withdraw(trader, "40", address(1))
    assert resp.status_code == 201, resp.text
    wid = resp.json()["withdrawal_id"]
    wait_until(lambda: settled(wid), timeout=20, what="paid and settled")
    done = row(wid)
    assert (done.status, done.approved_by_id) == (WithdrawalStatus.COMPLETED, None)
    assert done.txid.startswith("dev-")
    assert usdc(trader) == (D(59), D(0))
    assert fee_balance() == fees_before + D(1)
    emails = "\n".join(p.read_text() for p in Path(stack.env["EMAIL_FILE_PATH"]).glob("*.log"))
    for subject in ("requested", "approved", "paid"):
        assert f"Subject: Withdrawal of 40 USDC {subject}" in emails


def logged_in(stack: Stack, trader: Trader) -> requests.Session:
    """A browser session of ``trader`` through the site's log-in page."""
    session = requests.Session()
    session.get(f"{stack.base_url}/login", timeout=10)
    resp = session.post(
        f"{stack.base_url}/login",
        data={
            "username": trader.username,
            "password": trader.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302, resp.text[-2000:]
    return session


@pytest.fixture(scope="module")
def operator(stack: Stack, django_db_blocker: Any) -> requests.Session:
    """A staff user in the "operators" group, logged in: the admin is its door. Made outside
    any test's transaction, so the stack's processes see it."""
    with django_db_blocker.unblock():
        trader = stack.signup("operator")  # the web process hashes the password
        User.objects.filter(pk=trader.user_id).update(is_staff=True)
        User.objects.get(pk=trader.user_id).groups.add(Group.objects.get(name=OPERATORS_GROUP))
    return logged_in(stack, trader)


def admin_action(
    stack: Stack, session: requests.Session, action: str, ids: list[int], **form: str
) -> None:
    """An admin action on withdrawals, with the reason (and txid) its intermediate page asks."""
    resp = session.post(
        f"{stack.base_url}/admin/accounts/withdrawal/",
        data={
            "action": action,
            "_selected_action": ids,
            "apply": "1",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            **form,
        },
        timeout=10,
    )
    assert resp.status_code == 200 and f"{len(ids)} updated." in resp.text, resp.text[-2000:]


def test_withdrawal_above_the_threshold_is_paid_when_an_operator_approves_it(
    stack: Stack, operator: requests.Session
) -> None:
    trader = stack.funded("whale", USDC="3000")
    wid = withdraw(trader, "1500", address(2)).json()["withdrawal_id"]
    assert row(wid).status == WithdrawalStatus.PENDING
    assert usdc(trader) == (D(1499), D(1501))
    # the operator approves it in the admin, with a reason
    admin_action(stack, operator, "approve", [wid], reason="called the customer")
    wait_until(lambda: settled(wid), timeout=20, what="paid and settled")
    assert usdc(trader) == (D(1499), D(0))
    entry = AuditLogEntry.objects.get(target_id=wid)
    assert (entry.actor.is_staff, entry.actor.is_superuser) == (True, False)
    assert entry.reason == "called the customer"


def test_withdrawal_funds_come_back_when_rejected_or_cancelled(
    stack: Stack, operator: requests.Session
) -> None:
    trader = stack.funded("undecided", USDC="5000")
    first = withdraw(trader, "1500", address(3)).json()["withdrawal_id"]
    second = withdraw(trader, "2000", address(3)).json()["withdrawal_id"]
    assert usdc(trader) == (D(1498), D(3502))
    admin_action(stack, operator, "reject", [first], reason="address on a sanctions list")
    resp = trader.api.post(f"/api/v1/user/withdrawals/{second}/cancel", {})
    assert (resp.status_code, resp.json()["status"]) == (200, "cancelled")
    wait_until(lambda: released(first) and released(second), timeout=15, what="released")
    assert usdc(trader) == (D(5000), D(0))


def test_withdrawal_is_released_when_the_payout_fails(stack: Stack, outcomes: Any) -> None:
    trader = stack.funded("unlucky", USDC="100")
    outcomes(address(4), "fail")
    wid = withdraw(trader, "30", address(4)).json()["withdrawal_id"]
    wait_until(lambda: released(wid), timeout=20, what="failed and released")
    assert (row(wid).status, row(wid).reject_reason) == ("failed", "address_refused")
    assert usdc(trader) == (D(100), D(0))


def test_hanging_payout_times_out_for_an_operator_who_resolves_it(
    stack: Stack, outcomes: Any, operator: requests.Session
) -> None:
    trader = stack.funded("patient", USDC="100")
    outcomes(address(5), "hang")
    wid = withdraw(trader, "30", address(5)).json()["withdrawal_id"]
    # the worker's time limit (and the sweep) end the wait: an operator must look
    wait_until(
        lambda: row(wid).status == WithdrawalStatus.TIMED_OUT,
        timeout=PAYOUT_TIMEOUT_S + 20,
        what="timed out",
    )
    assert usdc(trader) == (D(69), D(31))  # still held
    admin_action(stack, operator, "resolve_failed", [wid], reason="no transaction on chain")
    wait_until(lambda: released(wid), timeout=15, what="released")
    assert usdc(trader) == (D(100), D(0))


def test_payout_completes_once_when_the_worker_is_killed_mid_payout(
    stack: Stack, outcomes: Any
) -> None:
    # given a payout the backend makes at once but answers slowly
    trader = stack.funded("interrupted", USDC="100")
    outcomes(address(6), "slow")
    wid = withdraw(trader, "30", address(6)).json()["withdrawal_id"]
    wait_until(lambda: row(wid).status == WithdrawalStatus.PROCESSING, timeout=15, what="sent")
    reference = str(row(wid).transfer_id)
    backend = payouts.DevPayoutBackend()
    wait_until(lambda: backend.payments(reference) == 1, timeout=10, what="paid by the backend")
    # when the worker dies before it hears the answer, and another one starts
    stack.kill_and_restart("celery-payouts")
    # then the sweep, past the payout timeout, asks the backend, which says paid: settled once
    wait_until(lambda: settled(wid), timeout=PAYOUT_TIMEOUT_S + 30, what="resolved as paid")
    assert row(wid).status == WithdrawalStatus.COMPLETED
    assert backend.payments(reference) == 1
    assert usdc(trader) == (D(69), D(0))


def test_concurrent_withdrawals_never_spend_the_same_funds_twice(stack: Stack) -> None:
    # given 1000 USDC, and 20 withdrawals of 100 (+ 1 fee) sent at once
    trader = stack.funded("rusher", USDC="1000")
    answers: list[requests.Response] = []
    start = threading.Barrier(20)

    def one(n: int) -> None:
        start.wait()
        answers.append(withdraw(trader, "100", address(100 + n)))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly 9 hold their 101, the other 11 are refused for insufficient funds
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 9 + [400] * 11, [r.text for r in answers if r.status_code != 201]
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 400} == {
        "insufficient_funds"
    }
    paid = [r.json()["withdrawal_id"] for r in answers if r.status_code == 201]
    wait_until(lambda: all(settled(w) for w in paid), timeout=60, what="all nine paid")
    assert usdc(trader) == (D(91), D(0))


def test_two_factor_code_is_required_and_not_replayable_over_http(stack: Stack) -> None:
    # given a trader who turns two-factor authentication on in the security page
    trader = stack.funded("careful", USDC="100")
    browser = logged_in(stack, trader)
    url = f"{stack.base_url}/account/security"
    page = browser.post(
        url, data={"step": "start", "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    ).text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page[-2000:]
    totp = pyotp.TOTP(secret.group(1))
    done = browser.post(
        url,
        data={
            "step": "confirm",
            "code": totp.now(),
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
    )
    assert "Save these recovery codes now" in done.text
    # then a withdrawal needs a code, and a code works once
    assert withdraw(trader, "20", address(7)).json()["error"]["code"] == "totp_required"
    code = totp.at(time.time() + 30)  # the next step's: the set-up used this one's
    assert withdraw(trader, "20", address(7), totp=code).status_code == 201
    assert withdraw(trader, "20", address(7), totp=code).json()["error"]["code"] == "totp_reused"


# --- Afterwards -----------------------------------------------------------------------------------


def test_every_asset_is_conserved_and_reconciles_after_all_flows(stack: Stack) -> None:
    stack.wait_settled()
    wait_until(
        lambda: (
            not Withdrawal.objects.filter(
                status__in=[WithdrawalStatus.APPROVED, WithdrawalStatus.PROCESSING]
            ).exists()
        ),
        timeout=30,
        what="no payout in flight",
    )
    stack.wait_settled()
    for code in ("USDC", "SOL", "BTC", "ETH"):
        held = Balance.objects.filter(asset__code=code).aggregate(
            a=Sum("available"), b=Sum("locked")
        )
        credited = Deposit.objects.filter(
            asset__code=code, status=DepositStatus.CREDITED
        ).aggregate(s=Sum("amount"))["s"] or D(0)
        out = Withdrawal.objects.filter(asset__code=code, settled_at__isnull=False).aggregate(
            s=Sum("amount")
        )["s"] or D(0)
        assert (held["a"] or D(0)) + (held["b"] or D(0)) == credited - out, code
    # and beat's reconciliation job, run by the worker, finds every source agreeing
    before = ReconciliationRun.objects.count()
    celery_app.send_task("accounts.tasks.reconcile")
    wait_until(lambda: ReconciliationRun.objects.count() > before, timeout=30, what="reconciled")
    run = ReconciliationRun.objects.first()
    assert run is not None and run.status == "ok", run and run.message
    assert stack.health()["alerts"] == []
