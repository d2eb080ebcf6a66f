"""The services move deposits and withdrawals only along their tables (accounts/transitions.py),
the engine commands that carry a withdrawal out included: anything else is a 409
``illegal_transition`` Conflict, and the row stays as it was."""

from __future__ import annotations

import pytest
import redis

from accounts import services, withdrawals
from accounts.models import Asset, Deposit, DepositStatus, User, Withdrawal, WithdrawalStatus
from common.errors import Conflict
from pipeline.client import shard_map
from pipeline.transport import shard_keys
from tests.factories import make_deposit, make_withdrawal
from tests.support.pipeline import clear_id_caches

pytestmark = pytest.mark.django_db

W = WithdrawalStatus


@pytest.fixture
def usdc(assets: dict[str, Asset]) -> Asset:
    clear_id_caches()
    return assets["USDC"]


def commands_sent(redis_server: str) -> int:
    """Commands in the funding shard's log (nobody reads them here)."""
    log = redis.Redis.from_url(redis_server)
    return int(log.xlen(shard_keys(shard_map().funding).commands))


def withdrawal_in(user: User, asset: Asset, status: str) -> Withdrawal:
    withdrawal = make_withdrawal(user, asset)
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=status)
    withdrawal.refresh_from_db()
    return withdrawal


@pytest.mark.parametrize("status", [W.PENDING, W.APPROVED, W.PROCESSING, W.TIMED_OUT, W.FAILED])
def test_a_settle_is_refused_when_the_withdrawal_was_not_paid(
    usdc: Asset, alice: User, redis_server: str, status: str
) -> None:
    withdrawal = withdrawal_in(alice, usdc, status)
    before = commands_sent(redis_server)

    with pytest.raises(Conflict) as refused:
        withdrawals.send_settle(withdrawal)

    assert refused.value.code == "illegal_transition"
    assert refused.value.details == {"from": status, "to": "settle", "allowed": [W.COMPLETED]}
    assert commands_sent(redis_server) == before


@pytest.mark.parametrize("status", [W.PENDING, W.APPROVED, W.PROCESSING, W.TIMED_OUT, W.COMPLETED])
def test_a_release_is_refused_when_the_withdrawal_may_still_be_or_was_paid(
    usdc: Asset, alice: User, redis_server: str, status: str
) -> None:
    withdrawal = withdrawal_in(alice, usdc, status)
    before = commands_sent(redis_server)

    with pytest.raises(Conflict) as refused:
        withdrawals.send_release(withdrawal)

    assert refused.value.code == "illegal_transition"
    assert commands_sent(redis_server) == before


def test_a_settle_and_a_release_are_sent_when_the_status_is_one_they_carry_out(
    usdc: Asset, alice: User, redis_server: str
) -> None:
    before = commands_sent(redis_server)

    withdrawals.send_settle(withdrawal_in(alice, usdc, W.COMPLETED))
    withdrawals.send_release(withdrawal_in(alice, usdc, W.CANCELLED))

    assert commands_sent(redis_server) == before + 2


def test_a_cancel_is_refused_when_the_withdrawal_was_approved(usdc: Asset, alice: User) -> None:
    withdrawal = withdrawal_in(alice, usdc, W.APPROVED)

    with pytest.raises(Conflict) as refused:
        withdrawals.cancel(alice, withdrawal.pk)

    assert refused.value.code == "illegal_transition"
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == W.APPROVED


def test_a_deposit_is_not_credited_when_it_was_never_confirmed(usdc: Asset, alice: User) -> None:
    deposit = make_deposit(alice, usdc)

    with pytest.raises(Conflict) as refused:
        services.deposit_set_status(deposit, DepositStatus.CREDITED)

    assert refused.value.code == "illegal_transition"
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.PENDING


def test_an_operator_cannot_reject_a_deposit_once_it_was_confirmed(
    usdc: Asset, alice: User, bob: User
) -> None:
    # (its credit is on its way to the engine: only the engine's answer may reject it now)
    deposit = make_deposit(alice, usdc)
    Deposit.objects.filter(pk=deposit.pk).update(status=DepositStatus.CONFIRMED)
    deposit.refresh_from_db()

    with pytest.raises(Conflict) as refused:
        services.deposit_reject(deposit, actor=bob, reason="looks wrong")

    assert refused.value.code == "illegal_transition"
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CONFIRMED
