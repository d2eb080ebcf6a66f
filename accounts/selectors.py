from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import ApiKey, Asset, Balance, Deposit, LedgerEntry, User, Withdrawal
from common.errors import NotFound, ValidationFailed
from pipeline.barrier import await_recorded


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


def ledger_history(
    user: User,
    *,
    asset: Asset | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    """The caller's balance movements in [start, end), any asset or one."""
    await_recorded(user.pk)
    rows = LedgerEntry.objects.filter(user=user).select_related("asset")
    if asset is not None:
        rows = rows.filter(asset=asset)
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    return rows


def ledger_refs(entries: Sequence[LedgerEntry]) -> dict[str, dict[str, Any]]:
    """Each entry's cause resolved to what a user knows it by: order, trade, deposit or
    withdrawal id (two queries for a page, whatever its size)."""
    transfer_ids: set[uuid.UUID] = set()
    for entry in entries:
        kind, _, rest = entry.cause.partition(":")
        if kind == "x":
            try:
                transfer_ids.add(uuid.UUID(rest))
            except ValueError:
                pass  # a move between shards (mv-...)
    deposits = dict(
        Deposit.objects.filter(transfer_id__in=transfer_ids).values_list("transfer_id", "pk")
    )
    withdrawals = dict(
        Withdrawal.objects.filter(transfer_id__in=transfer_ids).values_list("transfer_id", "pk")
    )
    refs: dict[str, dict[str, Any]] = {}
    for entry in entries:
        refs[entry.cause] = _ref(entry.cause, deposits, withdrawals)
    return refs


def _ref(
    cause: str, deposits: dict[uuid.UUID, int], withdrawals: dict[uuid.UUID, int]
) -> dict[str, Any]:
    kind, _, rest = cause.partition(":")
    if kind in ("o", "g") and rest.isdigit():  # g: an OCO stop leg's hold when it triggers
        return {"type": "order", "order_id": int(rest)}
    if kind == "a":
        order_id = rest.partition(":")[0]
        return {"type": "amend", "order_id": int(order_id) if order_id.isdigit() else None}
    if kind == "t":
        symbol, _, trade_id = rest.rpartition(":")
        return {"type": "trade", "symbol": symbol, "trade_id": int(trade_id or 0)}
    if kind == "x":
        try:
            transfer_id = uuid.UUID(rest)
        except ValueError:
            return {"type": "move"}
        if transfer_id in deposits:
            return {"type": "deposit", "deposit_id": deposits[transfer_id]}
        if transfer_id in withdrawals:
            return {"type": "withdrawal", "withdrawal_id": withdrawals[transfer_id]}
        return {"type": "transfer"}
    return {"type": "other"}
