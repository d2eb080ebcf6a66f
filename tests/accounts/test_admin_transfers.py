"""The admin's money actions: each asks why, moves by the transition table, and is audited."""

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.apps import OPERATORS_GROUP
from accounts.models import AuditLogEntry, Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from tests.factories import make_deposit, make_user, make_withdrawal

DEPOSITS = "admin:accounts_deposit_changelist"
WITHDRAWALS = "admin:accounts_withdrawal_changelist"


def act(client: Client, changelist: str, action: str, ids: list[int], **form: str):
    return client.post(
        reverse(changelist),
        {"action": action, "_selected_action": ids, **form},
        follow=True,
    )


def test_deposit_is_recorded_pending_and_audited_when_an_operator_adds_one(
    admin_client, admin_user, alice, assets
):
    response = admin_client.post(
        reverse("admin:accounts_deposit_add"),
        {
            "user": alice.pk,
            "asset": assets["USDC"].pk,
            "amount": "250.5",
            "reason": "wire ref 4411",
        },
    )
    assert response.status_code == 302
    deposit = Deposit.objects.get(user=alice)
    assert (str(deposit.amount.normalize()), deposit.status) == ("250.5", DepositStatus.PENDING)
    entry = AuditLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_id, entry.reason) == (
        admin_user,
        "deposit_create",
        deposit.pk,
        "wire ref 4411",
    )


def test_deposit_form_is_refused_when_the_amount_is_finer_than_an_atom(admin_client, alice, assets):
    response = admin_client.post(
        reverse("admin:accounts_deposit_add"),
        {"user": alice.pk, "asset": assets["USDC"].pk, "amount": "0.0000001", "reason": "x"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "6 decimals" in response.content.decode()
    assert not Deposit.objects.exists()


def test_deposit_form_is_refused_when_no_reason_is_given(admin_client, alice, assets):
    response = admin_client.post(
        reverse("admin:accounts_deposit_add"),
        {"user": alice.pk, "asset": assets["USDC"].pk, "amount": "5"},
    )
    assert response.status_code == 200
    assert not Deposit.objects.exists()


def test_deposits_are_confirmed_and_audited_when_an_operator_gives_a_reason(
    admin_client, admin_user, alice, assets
):
    deposit = make_deposit(alice, assets["USDC"])
    # the action first asks why, and changes nothing
    page = act(admin_client, DEPOSITS, "confirm", [deposit.pk])
    assert "audit log" in page.content.decode()
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.PENDING
    # given a reason, it confirms
    act(admin_client, DEPOSITS, "confirm", [deposit.pk], apply="1", reason="funds seen on chain")
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CONFIRMED
    entry = AuditLogEntry.objects.get(action="deposit_confirm")
    assert (entry.actor, entry.target_type, entry.reason) == (
        admin_user,
        "deposit",
        "funds seen on chain",
    )


def test_withdrawals_are_approved_or_refused_by_the_table_when_actions_run(
    admin_client, alice, assets
):
    # given one held pending and one already rejected withdrawal
    pending = make_withdrawal(alice, assets["SOL"])
    rejected = make_withdrawal(alice, assets["SOL"])
    Withdrawal.objects.filter(pk=rejected.pk).update(status=WithdrawalStatus.REJECTED)
    # when an operator approves both, with a reason
    response = act(
        admin_client, WITHDRAWALS, "approve", [pending.pk, rejected.pk], apply="1", reason="ok"
    )
    # then only the pending one moves (and is audited), and the other is reported
    pending.refresh_from_db()
    rejected.refresh_from_db()
    assert (pending.status, rejected.status) == ("approved", "rejected")
    assert pending.approved_at is not None and pending.approved_by is not None
    assert "cannot go from rejected to approved" in response.content.decode()
    assert list(AuditLogEntry.objects.values_list("action", "target_id")) == [
        ("withdrawal_approve", pending.pk)
    ]


def test_withdrawal_is_not_approved_when_its_hold_is_not_confirmed(admin_client, alice, assets):
    unheld = make_withdrawal(alice, assets["SOL"], held=False)
    response = act(admin_client, WITHDRAWALS, "approve", [unheld.pk], apply="1", reason="ok")
    unheld.refresh_from_db()
    assert unheld.status == WithdrawalStatus.PENDING
    assert "not confirmed held" in response.content.decode()
    assert not AuditLogEntry.objects.exists()


def test_withdrawal_action_changes_nothing_when_the_reason_is_blank(admin_client, alice, assets):
    pending = make_withdrawal(alice, assets["SOL"])
    act(admin_client, WITHDRAWALS, "reject", [pending.pk], apply="1", reason="   ")
    pending.refresh_from_db()
    assert pending.status == WithdrawalStatus.PENDING


def test_audit_log_is_read_only_when_a_superuser_opens_it(admin_client, admin_user, alice, assets):
    deposit = make_deposit(alice, assets["USDC"])
    act(admin_client, DEPOSITS, "reject", [deposit.pk], apply="1", reason="unknown sender")
    entry = AuditLogEntry.objects.get()
    assert admin_client.get(reverse("admin:accounts_auditlogentry_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_auditlogentry_add")).status_code == 403
    change = admin_client.post(
        reverse("admin:accounts_auditlogentry_change", args=[entry.pk]), {"reason": "edited"}
    )
    assert change.status_code == 403
    delete = admin_client.post(
        reverse("admin:accounts_auditlogentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    entry.refresh_from_db()
    assert entry.reason == "unknown sender"


def _staff(username: str, *, operator: bool) -> Client:
    user = make_user(username, is_staff=True)
    if operator:
        user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    client = Client()
    client.force_login(user)
    return client


def test_operator_runs_withdrawals_when_in_the_operators_group(db, alice, assets):
    operator = _staff("olga", operator=True)
    pending = make_withdrawal(alice, assets["SOL"])
    assert operator.get(reverse(WITHDRAWALS)).status_code == 200
    act(operator, WITHDRAWALS, "reject", [pending.pk], apply="1", reason="sanctioned address")
    pending.refresh_from_db()
    assert (pending.status, pending.reject_reason) == ("rejected", "sanctioned address")
    # and may not edit assets (a superuser's job)
    response = operator.post(
        reverse("admin:accounts_asset_change", args=[assets["SOL"].pk]),
        {"name": "x", "withdrawal_fee": "0"},
    )
    assert response.status_code == 403


def test_staff_user_cannot_move_money_when_not_an_operator(db, alice, assets):
    clerk = _staff("carl", operator=False)
    pending = make_withdrawal(alice, assets["SOL"])
    assert clerk.get(reverse(WITHDRAWALS)).status_code == 403
    act(clerk, WITHDRAWALS, "approve", [pending.pk], apply="1", reason="ok")
    pending.refresh_from_db()
    assert pending.status == WithdrawalStatus.PENDING


def test_admin_login_is_the_sites_login_when_not_logged_in(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"].startswith(reverse("login"))


def test_admin_index_shows_a_timed_out_withdrawal_when_there_is_one(admin_client, alice, assets):
    stuck = make_withdrawal(alice, assets["SOL"])
    Withdrawal.objects.filter(pk=stuck.pk).update(
        status=WithdrawalStatus.TIMED_OUT, payout_started_at=timezone.now()
    )
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "1 withdrawal timed out" in page
