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


def await_recorded(user_id: int, *, own_only: bool = False) -> None:
    """The barrier of a private read (or of a service that reads what it just wrote): return
    once the database records every command ``user_id`` sent and every batch the matcher has
    committed that changed ``user_id`` on another user's command (a fill of its resting order:
    when the taker is told ``filled``, the maker's next read shows it), waiting up to
    READ_YOUR_WRITES_TIMEOUT. Nothing else holds a read up, however far the persister lags.

    Past that, the read goes on only if what is missing is what the matcher has not applied
    yet (the caller's orders are shown from their "pending" placeholders, and nothing else
    changed). If the matcher has applied such a command and the persister has not committed it
    (the persister is down or far behind), the read answers 503 ``writes_not_persisted``
    rather than an older state as if it were current.

    ``own_only``: wait for ``user_id``'s own commands only, for a service that needs no more."""
    client = matcher()
    if client.read_barrier(user_id, settings.READ_YOUR_WRITES_TIMEOUT, own_only=own_only):
        raise Unavailable(
            "The latest writes are applied but not recorded yet (the persister is behind); "
            "retry shortly.",
            code="writes_not_persisted",
            retry_after=1,
        )


def balances_of(user: User) -> list[Balance]:
    """The caller's balances, with every applied command that changed them (``await_recorded``)."""
    await_recorded(user.pk)
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
    await_recorded(user.pk)
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
    await_recorded(user.pk)
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
