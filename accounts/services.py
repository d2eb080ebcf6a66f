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
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, key_cache, keys, two_factor
from accounts.models import (
    ApiKey,
    Asset,
    AuditAction,
    Deposit,
    DepositStatus,
    User,
)
from accounts.transitions import DEPOSIT_TRANSITIONS, Table, check_transition
from common.amounts import is_whole_atoms, plain
from common.errors import Conflict, NotFound, ValidationFailed
from matching import commands
from matching.arith import BOUND, amount_to_atoms, atoms_to_amount, max_transfer_atoms
from pipeline.client import matcher, new_command_id, now_ns, shard_map

log = logging.getLogger(__name__)


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


def asset_upsert(code: str, *, name: str, decimals: int, **policy: Any) -> Asset:
    """Create or update an asset; ``policy`` (withdrawal fields, address format) is set only
    when the asset is created: afterwards it is the operators' (admin)."""
    fields = {"name": name, "decimals": decimals, "is_active": True}
    asset, _ = Asset.objects.update_or_create(
        code=code, defaults=fields, create_defaults={**fields, **policy}
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
    """A user's deposit request; the deposit source decides who confirms it, and when
    (accounts/deposit_sources.py)."""
    from accounts.deposit_sources import deposit_source

    with transaction.atomic():
        deposit = deposit_create(user, asset, amount)
        if deposit.status == DepositStatus.PENDING:
            deposit_source().requested(deposit)
    return deposit


def deposit_confirm(deposit: Deposit, *, actor: User | None = None, reason: str = "") -> Deposit:
    """Confirm a pending deposit; after the commit, send it to the matcher to be credited.
    ``actor``: the operator who confirmed it (audited); None for a deposit source.

    If that send is lost (Redis down, process killed), ``deposits_resend`` (a Celery beat task)
    sends it again; the engine applies a transfer id once, so a repeat is a no-op.
    """
    with transaction.atomic():
        deposit_set_status(deposit, DepositStatus.CONFIRMED)
        if actor is not None:
            audit.record(actor, AuditAction.DEPOSIT_CONFIRM, deposit, reason)
        transaction.on_commit(lambda: deposit_send(deposit), robust=True)
    return deposit


def deposit_reject(deposit: Deposit, *, actor: User, reason: str) -> Deposit:
    """An operator refuses a pending deposit (nothing was credited)."""
    with transaction.atomic():
        deposit_set_status(deposit, DepositStatus.REJECTED)
        audit.record(actor, AuditAction.DEPOSIT_REJECT, deposit, reason)
    return deposit


def deposit_confirm_once(deposit_id: int) -> str:
    """The deposit source's confirmation (a Celery task, maybe run twice): confirm a pending
    deposit, send a confirmed one again; the engine credits a transfer id once."""
    deposit = Deposit.objects.filter(pk=deposit_id).select_related("asset").first()
    if deposit is None:
        return "missing"
    if deposit.status == DepositStatus.PENDING:
        try:
            deposit_confirm(deposit)
        except Conflict:
            return "taken by another run"
        return "confirmed"
    if deposit.status == DepositStatus.CONFIRMED:
        deposit_send(deposit)
        return "sent again"
    return f"nothing to do ({deposit.status})"


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


def deposits_sweep(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """With the development source: confirm deposits whose confirmation task was lost."""
    from accounts.deposit_sources import deposit_source

    if deposit_source().name != "dev":
        return 0
    stale = Deposit.objects.filter(
        status=DepositStatus.PENDING, created_at__lt=timezone.now() - older_than
    ).values_list("pk", flat=True)
    return sum(deposit_confirm_once(pk) == "confirmed" for pk in stale)


def deposit_set_status(deposit: Deposit, status: DepositStatus) -> Deposit:
    extra = {"credited_at": timezone.now()} if status == DepositStatus.CREDITED else {}
    return _move(deposit, DEPOSIT_TRANSITIONS, status, what="deposit", **extra)


def _move(obj: Deposit, table: Table, status: str, *, what: str, **extra: Any) -> Deposit:
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
    user: User,
    label: str = "",
    permissions: Iterable[str] = ("read", "trade"),
    *,
    totp: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret: the only moment the secret is shown. With
    two-factor authentication on, ``totp`` must be a fresh code from the user's app."""
    wanted = set(permissions)
    unknown = wanted - set(ApiKey.PERMISSIONS)
    if unknown or not wanted:
        raise ValidationFailed(
            "Permissions must be a non-empty subset of read, trade, withdraw.",
            code="invalid_permissions",
            details={"unknown": sorted(unknown)},
        )
    two_factor.require(user, totp)
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
