"""Writes for the accounts app. Views, admin and commands call these, never the ORM directly.

Balances and ledger entries are not written here: they are projections of the matcher's
events, written by the persister (accounts/ledger.py, issue 4).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import key_cache, keys, shard_funds
from accounts.amounts import is_whole_atoms, plain
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
from exchange_site.errors import Conflict, NotFound, Unavailable, ValidationFailed
from matching import commands
from matching.arith import BOUND, amount_to_atoms, atoms_to_amount, max_transfer_atoms
from matching.client import matcher, new_command_id, now_ns, shard_map
from matching.events import TransferRejected

log = logging.getLogger(__name__)

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
    user, created = User.objects.update_or_create(
        username=username,
        defaults={"email": email, "is_staff": is_staff or superuser, "is_superuser": superuser},
    )
    # A new user has no password to check, and checking one would hash once more for nothing
    # (Django hashes against an unusable password too, to keep the time constant).
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def user_create(username: str, *, password: str, email: str) -> User:
    """Sign-up: Django's password validators, and one account per username (any case)."""
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.", details={"password": list(exc.messages)}
        ) from None
    taken = Conflict("This username is taken.", code="username_taken")
    if User.objects.filter(username__iexact=username).exists():
        raise taken
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:  # a concurrent sign-up won the race
        raise taken from None


def asset_upsert(code: str, *, name: str, decimals: int) -> Asset:
    asset, _ = Asset.objects.update_or_create(
        code=code, defaults={"name": name, "decimals": decimals, "is_active": True}
    )
    return asset


def max_transfer(asset: Asset) -> Decimal:
    """The largest single deposit or withdrawal of ``asset`` (matching.arith: 10**19 units
    less one atom; what one matcher holds of an asset in total is bounded by the same)."""
    return atoms_to_amount(asset.decimals, max_transfer_atoms(asset.decimals))


def validate_amount(asset: Asset, amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationFailed("The amount must be a positive decimal.", code="invalid_amount")
    if amount >= BOUND:
        largest = max_transfer(asset)
        raise ValidationFailed(
            f"The amount is above the maximum of {largest} {asset.code}.",
            code="invalid_amount",
            details={"max_amount": plain(largest)},
        )
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


def deposit_request(user: User, asset: Asset, amount: Decimal) -> Deposit:
    """A user's deposit request; confirmed (and sent to the matcher) at once in development."""
    with transaction.atomic():
        deposit = deposit_create(user, asset, amount)
        if settings.DEPOSITS_AUTO_CONFIRM and deposit.status == DepositStatus.PENDING:
            deposit_confirm(deposit)
    return deposit


def deposit_confirm(deposit: Deposit) -> Deposit:
    """Confirm a pending deposit; after the commit, send it to the matcher to be credited.

    If that send is lost (Redis down, process killed), ``deposits_resend`` (a Celery beat task)
    sends it again; the engine applies a transfer id once, so a repeat is a no-op.
    """
    deposit_set_status(deposit, DepositStatus.CONFIRMED)
    transaction.on_commit(lambda: deposit_send(deposit), robust=True)
    return deposit


def deposit_send(deposit: Deposit) -> None:
    asset = deposit.asset
    cmd = commands.Deposit(
        new_command_id(),
        now_ns(),
        str(deposit.transfer_id),
        deposit.user_id,
        asset.code,
        amount_to_atoms(asset.decimals, deposit.amount),
        asset.decimals,  # the engine's bound on what it holds of the asset depends on them
    )
    matcher().send(shard_map().funding, cmd, user=deposit.user_id, wait=False)


def deposits_resend(*, older_than: timedelta = timedelta(seconds=5)) -> int:
    """Send again every deposit confirmed a while ago and still not credited."""
    stale = Deposit.objects.filter(
        status=DepositStatus.CONFIRMED, updated_at__lt=timezone.now() - older_than
    ).select_related("asset")
    sent = 0
    for deposit in stale.iterator():
        deposit_send(deposit)
        sent += 1
    if sent:
        log.info("re-sent %s confirmed deposits", sent)
    return sent


def withdrawal_request(
    user: User, asset: Asset, amount: Decimal, address: str
) -> tuple[Withdrawal, bool]:
    """Record a withdrawal and hold its funds in the engine; (withdrawal, matcher answered).

    The row is committed before the command is sent, so the persister always finds it. Refused
    by the engine (not enough available): the row is marked failed and this raises.
    """
    validate_amount(asset, amount)
    if not asset.is_active:
        raise ValidationFailed(f"{asset.code} is not active.", code="asset_inactive")
    atoms = amount_to_atoms(asset.decimals, amount)
    # With several shards, funds may sit on another one (orders moved them): bring them back.
    shard_funds.ensure_available(user.pk, asset.code, atoms, shard_map().funding)
    withdrawal = Withdrawal.objects.create(user=user, asset=asset, amount=amount, address=address)
    cmd = commands.Withdraw(
        new_command_id(), now_ns(), str(withdrawal.transfer_id), user.pk, asset.code, atoms
    )
    sent = matcher().send(shard_map().funding, cmd, user=user.pk)
    if sent.events is None:
        return withdrawal, False
    refused = next((ev for ev in sent.events if isinstance(ev, TransferRejected)), None)
    if refused is not None:
        reason = str(refused.reason)
        try:
            withdrawal_set_status(withdrawal, WithdrawalStatus.FAILED, reason=reason)
        except Conflict:
            pass  # the persister marked it failed first, from the same event
        message = "Not enough available." if reason == "insufficient_funds" else reason
        raise ValidationFailed(message, code=reason, details={"withdrawal_id": withdrawal.pk})
    return withdrawal, True


def withdrawal_complete(withdrawal: Withdrawal) -> Withdrawal:
    """Pay out an approved withdrawal: the engine settles the hold, the persister marks it
    completed."""
    check_transition(
        WITHDRAWAL_TRANSITIONS, withdrawal.status, WithdrawalStatus.COMPLETED, what="withdrawal"
    )
    cmd = commands.SettleWithdrawal(new_command_id(), now_ns(), str(withdrawal.transfer_id))
    _send_transfer(cmd, withdrawal.user_id)
    return withdrawal


def withdrawal_reject(withdrawal: Withdrawal, *, reason: str) -> Withdrawal:
    """Refuse a pending or approved withdrawal and return its held funds to the user."""
    check_transition(
        WITHDRAWAL_TRANSITIONS, withdrawal.status, WithdrawalStatus.REJECTED, what="withdrawal"
    )
    cmd = commands.ReleaseWithdrawal(new_command_id(), now_ns(), str(withdrawal.transfer_id))
    _send_transfer(cmd, withdrawal.user_id)  # durable once sent: the release will happen
    return withdrawal_set_status(withdrawal, WithdrawalStatus.REJECTED, reason=reason)


def _send_transfer(cmd: commands.SettleWithdrawal | commands.ReleaseWithdrawal, user: int) -> None:
    sent = matcher().send(shard_map().funding, cmd, user=user)
    if sent.events is None:
        raise Unavailable(
            "The matcher did not answer; the command is queued and applies when it runs.",
            code="matcher_unavailable",
        )
    for ev in sent.events:
        if isinstance(ev, TransferRejected):
            raise Conflict(f"The matcher refused: {ev.reason}.", code=str(ev.reason))


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


def api_key_revoke_by_id(user: User, key_id: str) -> ApiKey:
    """Revoke one of ``user``'s keys; another user's key is not found, never forbidden."""
    api_key = (
        None
        if "\x00" in key_id or len(key_id) > 64  # not an id PostgreSQL could even compare
        else ApiKey.objects.filter(user=user, key_id=key_id).first()
    )
    if api_key is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    return api_key_revoke(api_key)


def api_key_revoke(api_key: ApiKey) -> ApiKey:
    """Revoke once; revoking again keeps the first time (idempotent)."""
    key_cache.mark_key_off(api_key.key_id)
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key
