from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import ApiKey, Asset, Balance, Deposit, User, Withdrawal
from exchange_site.errors import NotFound, Unavailable, ValidationFailed
from matching.client import matcher


def fee_account_id() -> int:
    """The system user that receives every fee (created by migration accounts 0002)."""
    return User.objects.values_list("pk", flat=True).get(
        username=settings.FEE_ACCOUNT_USERNAME, is_system=True
    )


def asset_get(code: str) -> Asset:
    try:
        return Asset.objects.get(code=code, is_active=True)
    except Asset.DoesNotExist:
        raise NotFound(f"Unknown asset {code!r}.", code="unknown_asset") from None


def balance_list(user: User) -> QuerySet[Balance]:
    return Balance.objects.filter(user=user).select_related("asset").order_by("asset__code")


def api_key_list(user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def await_own_writes(user_id: int) -> None:
    """The read-your-writes barrier of a private read (or of a service that reads what it just
    wrote): return once the persister has committed every command ``user_id`` sent, waiting up
    to READ_YOUR_WRITES_TIMEOUT.

    Past that, the read goes on only if what is missing is what the matcher has not applied
    yet (its orders are shown from their "pending" placeholders, and nothing else changed).
    If the matcher has applied commands the persister has not committed (the persister is
    down or far behind), the database may lack the caller's own write, and the read answers
    503 ``writes_not_persisted`` rather than an older state as if it were current."""
    client = matcher()
    if client.await_persisted(user_id, settings.READ_YOUR_WRITES_TIMEOUT):
        return
    if client.applied_unpersisted(user_id):
        raise Unavailable(
            "The latest writes are applied but not recorded yet (the persister is behind); "
            "retry shortly.",
            code="writes_not_persisted",
            retry_after=1,
        )


def balances_of(user: User) -> list[Balance]:
    """The caller's balances once the persister has the caller's own writes (read-your-writes)."""
    await_own_writes(user.pk)
    return list(balance_list(user))


def asset_for_transfer(code: object) -> Asset:
    """An active asset named in a request body; 400 ``unknown_asset`` otherwise."""
    if not isinstance(code, str) or len(code) > 16:
        raise ValidationFailed("Unknown asset.", code="unknown_asset", details={"field": "asset"})
    try:
        return Asset.objects.get(code=code, is_active=True)
    except Asset.DoesNotExist:
        raise ValidationFailed(
            f"Unknown asset {code!r}.", code="unknown_asset", details={"field": "asset"}
        ) from None


def deposit_history(
    user: User, *, asset: Asset | None = None, status: str | None = None
) -> QuerySet[Deposit]:
    """The caller's deposits, any status (``credited`` once the engine applied one)."""
    await_own_writes(user.pk)
    rows = Deposit.objects.filter(user=user).select_related("asset")
    if asset is not None:
        rows = rows.filter(asset=asset)
    if status:
        rows = rows.filter(status=status)
    return rows


def withdrawal_history(
    user: User, *, asset: Asset | None = None, status: str | None = None
) -> QuerySet[Withdrawal]:
    """The caller's withdrawals, any status."""
    await_own_writes(user.pk)
    rows = Withdrawal.objects.filter(user=user).select_related("asset")
    if asset is not None:
        rows = rows.filter(asset=asset)
    if status:
        rows = rows.filter(status=status)
    return rows


def asset_for_query(code: str) -> Asset:
    """An asset named in a query filter (inactive ones too: their history remains)."""
    asset = Asset.objects.filter(code=code).first()
    if asset is None:
        raise ValidationFailed(
            f"Unknown asset {code!r}.", code="unknown_asset", details={"field": "asset"}
        )
    return asset


def asset_list() -> QuerySet[Asset]:
    return Asset.objects.filter(is_active=True).order_by("code")
