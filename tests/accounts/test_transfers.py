from decimal import Decimal

import pytest

from accounts import services, withdrawals
from accounts.models import Deposit, DepositStatus, WithdrawalStatus
from common.errors import Conflict, ValidationFailed
from tests.factories import make_deposit, make_withdrawal
from trading.demo import deposit_transfer_id


def test_deposit_is_recorded_pending_when_created(alice, assets):
    deposit = services.deposit_create(alice, assets["USDC"], Decimal("12.5"))
    assert deposit.status == DepositStatus.PENDING
    assert deposit.credited_at is None


def test_deposit_is_created_once_when_the_same_transfer_id_repeats(alice, assets):
    # given a deterministic transfer id
    transfer_id = deposit_transfer_id("alice", "USDC")
    # when the same deposit is recorded twice
    first = services.deposit_create(alice, assets["USDC"], Decimal("5"), transfer_id=transfer_id)
    again = services.deposit_create(alice, assets["USDC"], Decimal("5"), transfer_id=transfer_id)
    # then there is one row
    assert first.pk == again.pk
    assert Deposit.objects.filter(transfer_id=transfer_id).count() == 1


def test_deposit_is_refused_when_a_transfer_id_is_reused_for_another_amount(alice, assets):
    transfer_id = deposit_transfer_id("alice", "SOL")
    services.deposit_create(alice, assets["SOL"], Decimal("5"), transfer_id=transfer_id)
    with pytest.raises(Conflict):
        services.deposit_create(alice, assets["SOL"], Decimal("6"), transfer_id=transfer_id)


@pytest.mark.parametrize("amount", ["0", "-1", "0.0000001", "NaN", "Infinity"])
def test_deposit_is_refused_when_the_amount_is_not_a_positive_number_of_atoms(
    alice, assets, amount
):
    # USDC has 6 decimals: 0.0000001 is a tenth of an atom
    with pytest.raises(ValidationFailed):
        services.deposit_create(alice, assets["USDC"], Decimal(amount))


def test_deposit_is_credited_with_a_time_when_confirmed_then_credited(alice, assets):
    deposit = make_deposit(alice, assets["USDC"])
    services.deposit_set_status(deposit, DepositStatus.CONFIRMED)
    services.deposit_set_status(deposit, DepositStatus.CREDITED)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED
    assert deposit.credited_at is not None


def test_deposit_move_is_refused_when_another_writer_moved_it_first(alice, assets):
    # given two copies of the same pending deposit
    deposit = make_deposit(alice, assets["USDC"])
    stale = Deposit.objects.get(pk=deposit.pk)
    # when one confirms it and the other, stale, tries to reject it
    services.deposit_set_status(deposit, DepositStatus.CONFIRMED)
    with pytest.raises(Conflict) as refused:
        services.deposit_set_status(stale, DepositStatus.REJECTED)
    # then the first move stands
    assert refused.value.code == "concurrent_update"
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CONFIRMED


def test_withdrawal_keeps_a_reason_when_rejected(alice, assets):
    withdrawal = make_withdrawal(alice, assets["SOL"])
    withdrawals.move(withdrawal, WithdrawalStatus.REJECTED, reject_reason="address on a list")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reject_reason) == ("rejected", "address on a list")


def test_withdrawal_is_refused_completion_when_not_approved(alice, assets):
    withdrawal = make_withdrawal(alice, assets["SOL"])
    with pytest.raises(Conflict):
        withdrawals.move(withdrawal, WithdrawalStatus.COMPLETED)
