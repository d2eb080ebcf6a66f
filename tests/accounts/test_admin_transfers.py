from django.urls import reverse

from accounts.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from tests.factories import make_deposit, make_withdrawal


def test_deposit_is_recorded_pending_when_an_operator_adds_one(admin_client, alice, assets):
    response = admin_client.post(
        reverse("admin:accounts_deposit_add"),
        {"user": alice.pk, "asset": assets["USDC"].pk, "amount": "250.5"},
    )
    assert response.status_code == 302
    deposit = Deposit.objects.get(user=alice)
    assert (str(deposit.amount.normalize()), deposit.status) == ("250.5", DepositStatus.PENDING)


def test_deposit_form_is_refused_when_the_amount_is_finer_than_an_atom(admin_client, alice, assets):
    response = admin_client.post(
        reverse("admin:accounts_deposit_add"),
        {"user": alice.pk, "asset": assets["USDC"].pk, "amount": "0.0000001"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "6 decimals" in response.content.decode()
    assert not Deposit.objects.exists()


def test_withdrawals_are_approved_or_refused_by_the_table_when_actions_run(
    admin_client, alice, assets
):
    # given one pending and one already rejected withdrawal
    pending = make_withdrawal(alice, assets["SOL"])
    rejected = make_withdrawal(alice, assets["SOL"])
    Withdrawal.objects.filter(pk=rejected.pk).update(status=WithdrawalStatus.REJECTED)
    # when an operator approves both
    response = admin_client.post(
        reverse("admin:accounts_withdrawal_changelist"),
        {"action": "approve", "_selected_action": [pending.pk, rejected.pk]},
        follow=True,
    )
    # then only the pending one moves, and the other is reported
    pending.refresh_from_db()
    rejected.refresh_from_db()
    assert (pending.status, rejected.status) == ("approved", "rejected")
    assert "cannot go from rejected to approved" in response.content.decode()


def test_deposits_are_confirmed_when_an_operator_uses_the_action(admin_client, alice, assets):
    deposit = make_deposit(alice, assets["USDC"])
    admin_client.post(
        reverse("admin:accounts_deposit_changelist"),
        {"action": "confirm", "_selected_action": [deposit.pk]},
    )
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CONFIRMED
