"""The persister's balance, deposit and withdrawal projections (accounts/ledger.py) hold their
guards whatever the checkpoint says: a balance move at or below the row's ``last_event_seq``
changes neither the balance nor the ledger, and an engine event that would move a deposit or
withdrawal where its table forbids raises IllegalTransition (the shard's persistence halts on
it) instead of being written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import ledger
from accounts.models import (
    Asset,
    Balance,
    Deposit,
    DepositStatus,
    LedgerEntry,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from accounts.transitions import IllegalTransition
from matching.errors import RejectReason
from matching.events import BalanceChanged, Event, TransferApplied, TransferRejected
from matching.types import BalanceReason
from tests.factories import make_deposit, make_withdrawal
from tests.support.pipeline import clear_id_caches

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

T0 = 1_760_000_000_000_000_000


@pytest.fixture
def usdc(assets: dict[str, Asset]) -> Iterator[Asset]:
    clear_id_caches()
    yield assets["USDC"]
    clear_id_caches()


def apply(*batches: Sequence[Event]) -> None:
    """Each batch as the persister writes it: in a transaction of its own."""
    for events in batches:
        with transaction.atomic():
            ledger.apply_events(events, "s0")


def credit(seq: int, account: int, atoms: int, available: int, cause: str) -> BalanceChanged:
    return BalanceChanged(
        seq, f"c{seq}", T0 + seq, account, "USDC", available, 0, atoms, 0,
        BalanceReason.DEPOSIT, cause,
    )  # fmt: skip


def applied(seq: int, transfer_id: object, kind: str, account: int) -> TransferApplied:
    return TransferApplied(seq, f"c{seq}", T0 + seq, str(transfer_id), kind, account, "USDC", 1)


def refused(seq: int, transfer_id: object) -> TransferRejected:
    return TransferRejected(
        seq, f"c{seq}", T0 + seq, str(transfer_id), RejectReason.BALANCE_LIMIT_EXCEEDED
    )


def test_a_replayed_balance_move_leaves_balance_and_ledger_as_they_are(
    usdc: Asset, alice: User
) -> None:
    # given two credits, in batches of their own
    apply(
        [credit(1, alice.pk, 10**6, 10**6, "x:a")],
        [credit(2, alice.pk, 5 * 10**5, 15 * 10**5, "x:b")],
    )

    # when the first is applied again (past the checkpoint), alone and with a new one
    apply([credit(1, alice.pk, 10**6, 10**6, "x:a")])
    apply([credit(1, alice.pk, 10**6, 10**6, "x:a"), credit(3, alice.pk, 1, 15 * 10**5 + 1, "x:c")])

    # then only the new one counted, once
    balance = Balance.objects.get(user=alice, asset=usdc)
    assert balance.available == Decimal("1.500001")
    assert balance.last_event_seq == 3
    assert sorted(LedgerEntry.objects.values_list("event_seq", flat=True)) == [1, 2, 3]


def test_a_deposit_is_credited_when_the_engine_applied_a_confirmed_one(
    usdc: Asset, alice: User
) -> None:
    deposit = make_deposit(alice, usdc)
    Deposit.objects.filter(pk=deposit.pk).update(status=DepositStatus.CONFIRMED)

    apply([applied(1, deposit.transfer_id, "deposit", alice.pk)])

    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED
    assert deposit.credited_at is not None


@pytest.mark.parametrize("status", [DepositStatus.PENDING, DepositStatus.REJECTED])
def test_a_credit_is_refused_when_the_deposit_was_never_confirmed_or_was_rejected(
    usdc: Asset, alice: User, status: str
) -> None:
    deposit = make_deposit(alice, usdc)
    Deposit.objects.filter(pk=deposit.pk).update(status=status)

    with pytest.raises(
        IllegalTransition, match=f"is {status}: event seq 4 cannot make it credited"
    ):
        apply([applied(4, deposit.transfer_id, "deposit", alice.pk)])

    assert Deposit.objects.get(pk=deposit.pk).status == status


def test_an_engine_refusal_rejects_a_confirmed_deposit_but_not_a_credited_one(
    usdc: Asset, alice: User
) -> None:
    confirmed, credited = make_deposit(alice, usdc), make_deposit(alice, usdc)
    Deposit.objects.filter(pk=confirmed.pk).update(status=DepositStatus.CONFIRMED)
    Deposit.objects.filter(pk=credited.pk).update(status=DepositStatus.CREDITED)

    apply([refused(1, confirmed.transfer_id)], [refused(2, confirmed.transfer_id)])  # a resend
    with pytest.raises(IllegalTransition, match="is credited: event seq 3 cannot make it rejected"):
        apply([refused(3, credited.transfer_id)])

    assert Deposit.objects.get(pk=confirmed.pk).status == DepositStatus.REJECTED
    assert Deposit.objects.get(pk=credited.pk).status == DepositStatus.CREDITED


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (WithdrawalStatus.PENDING, "settle"),
        (WithdrawalStatus.APPROVED, "settle"),
        (WithdrawalStatus.TIMED_OUT, "settle"),
        (WithdrawalStatus.FAILED, "settle"),
        (WithdrawalStatus.COMPLETED, "release"),
        (WithdrawalStatus.PROCESSING, "release"),
    ],
)
def test_a_settle_or_release_is_refused_when_the_withdrawal_status_is_not_one_it_carries_out(
    assets: dict[str, Asset], alice: User, status: str, kind: str
) -> None:
    withdrawal = make_withdrawal(alice, assets["USDC"])
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=status)

    with pytest.raises(IllegalTransition, match=f"is {status}: event seq 5 cannot make it {kind}d"):
        apply([applied(5, withdrawal.transfer_id, kind, alice.pk)])

    withdrawal.refresh_from_db()
    assert (withdrawal.settled_at, withdrawal.released_at) == (None, None)


@pytest.mark.parametrize(
    ("status", "kind", "stamp"),
    [
        (WithdrawalStatus.COMPLETED, "settle", "settled_at"),
        (WithdrawalStatus.CANCELLED, "release", "released_at"),
        (WithdrawalStatus.REJECTED, "release", "released_at"),
        (WithdrawalStatus.FAILED, "release", "released_at"),
        (WithdrawalStatus.COMPLETED, "withdraw", "held_at"),  # a hold is recorded at any status
    ],
)
def test_a_settle_or_release_is_recorded_when_the_withdrawal_status_is_one_it_carries_out(
    assets: dict[str, Asset], alice: User, status: str, kind: str, stamp: str
) -> None:
    withdrawal = make_withdrawal(alice, assets["USDC"], held=False)
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=status)

    apply([applied(5, withdrawal.transfer_id, kind, alice.pk)])
    apply([applied(6, withdrawal.transfer_id, kind, alice.pk)])  # a repeat changes nothing

    assert getattr(Withdrawal.objects.get(pk=withdrawal.pk), stamp) is not None
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == status


def test_a_refused_hold_fails_a_pending_withdrawal_and_nothing_else(
    assets: dict[str, Asset], alice: User
) -> None:
    waiting = make_withdrawal(alice, assets["USDC"], held=False)
    cancelled = make_withdrawal(alice, assets["USDC"], held=False)
    Withdrawal.objects.filter(pk=cancelled.pk).update(status=WithdrawalStatus.CANCELLED)
    stamp = timezone.now()

    apply([refused(1, waiting.transfer_id), refused(2, cancelled.transfer_id)])

    assert Withdrawal.objects.get(pk=waiting.pk).status == WithdrawalStatus.FAILED
    assert Withdrawal.objects.get(pk=cancelled.pk).status == WithdrawalStatus.CANCELLED
    assert Withdrawal.objects.get(pk=cancelled.pk).updated_at < stamp
