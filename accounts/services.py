"""Writes for the accounts app. Views, admin and commands call these, never the ORM directly.

Balances and ledger entries are not written here: they are projections of the matcher's
events, written by the persister (accounts/ledger.py, issue 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.utils import timezone

from accounts import keys
from accounts.amounts import is_whole_atoms
from accounts.models import (
    ApiKey,
    Asset,
    Deposit,
    DepositStatus,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from accounts.transitions import (
    DEPOSIT_TRANSITIONS,
    WITHDRAWAL_TRANSITIONS,
    Table,
    check_transition,
)
from exchange_site.errors import Conflict, ValidationFailed

Transferable = TypeVar("Transferable", Deposit, Withdrawal)

# --- Users and assets -------------------------------------------------------------------------


def user_ensure(
    username: str,
    *,
    password: str,
    email: str = "",
    is_staff: bool = False,
    superuser: bool = False,
) -> User:
    """Create or update a user; the password is re-hashed only when it changed (idempotent)."""
    user, _ = User.objects.update_or_create(
        username=username,
        defaults={"email": email, "is_staff": is_staff or superuser, "is_superuser": superuser},
    )
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def asset_upsert(code: str, *, name: str, decimals: int) -> Asset:
    asset, _ = Asset.objects.update_or_create(
        code=code, defaults={"name": name, "decimals": decimals, "is_active": True}
    )
    return asset


def validate_amount(asset: Asset, amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationFailed("The amount must be a positive decimal.", code="invalid_amount")
    if not is_whole_atoms(amount, asset.decimals):
        raise ValidationFailed(
            f"{asset.code} has {asset.decimals} decimals.",
            code="invalid_amount",
            details={"decimals": asset.decimals},
        )


# --- Deposits and withdrawals -----------------------------------------------------------------


def deposit_create(
    user: User, asset: Asset, amount: Decimal, *, transfer_id: uuid.UUID | None = None
) -> Deposit:
    """Record a deposit (pending). Idempotent by ``transfer_id``: a repeat returns the same row.

    Issue 4 sends it to the matcher (on commit) as a transfer command with this transfer id.
    """
    validate_amount(asset, amount)
    if not asset.is_active:
        raise ValidationFailed(f"{asset.code} is not active.", code="asset_inactive")
    deposit, created = Deposit.objects.get_or_create(
        transfer_id=transfer_id or uuid.uuid4(),
        defaults={"user": user, "asset": asset, "amount": amount},
    )
    if not created and (deposit.user_id, deposit.asset_id, deposit.amount) != (
        user.pk,
        asset.pk,
        amount,
    ):
        raise Conflict("This transfer id is already used by another deposit.", code="duplicate")
    return deposit


def deposit_set_status(deposit: Deposit, status: DepositStatus) -> Deposit:
    extra = {"credited_at": timezone.now()} if status == DepositStatus.CREDITED else {}
    return _move(deposit, DEPOSIT_TRANSITIONS, status, what="deposit", **extra)


def withdrawal_set_status(
    withdrawal: Withdrawal, status: WithdrawalStatus, *, reason: str = ""
) -> Withdrawal:
    """Move a withdrawal along its lifecycle.

    Issue 4/6: leaving ``pending`` for anything but ``approved``, and ``failed``, must release
    the engine's hold (a matcher command); ``completed`` settles it.
    """
    extra: dict[str, Any] = {}
    if status in (WithdrawalStatus.REJECTED, WithdrawalStatus.FAILED):
        extra["reject_reason"] = reason or status.label
    if status == WithdrawalStatus.COMPLETED:
        extra["completed_at"] = timezone.now()
    return _move(withdrawal, WITHDRAWAL_TRANSITIONS, status, what="withdrawal", **extra)


def _move(obj: Transferable, table: Table, status: str, *, what: str, **extra: Any) -> Transferable:
    """Compare-and-set: the row moves only if nobody moved it since we read it."""
    check_transition(table, obj.status, status, what=what)
    fields = {"status": status, "updated_at": timezone.now(), **extra}
    moved = type(obj)._default_manager.filter(pk=obj.pk, status=obj.status).update(**fields)
    if not moved:
        raise Conflict(f"The {what} changed meanwhile; reload it.", code="concurrent_update")
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


# --- API keys ---------------------------------------------------------------------------------


def api_key_create(
    user: User, label: str = "", permissions: Iterable[str] = ("read", "trade")
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret: the only moment the secret is shown."""
    wanted = set(permissions)
    unknown = wanted - set(ApiKey.PERMISSIONS)
    if unknown or not wanted:
        raise ValidationFailed(
            "Permissions must be a non-empty subset of read, trade, withdraw.",
            code="invalid_permissions",
            details={"unknown": sorted(unknown)},
        )
    api_key = ApiKey.objects.create(
        user=user,
        label=label,
        key_id=keys.new_key_id(),
        secret_nonce=keys.new_secret_nonce(),
        **{f"perm_{name}": name in wanted for name in ApiKey.PERMISSIONS},
    )
    return api_key, keys.api_key_secret(api_key)


def api_key_revoke(api_key: ApiKey) -> ApiKey:
    """Revoke once; revoking again keeps the first time (idempotent)."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key
