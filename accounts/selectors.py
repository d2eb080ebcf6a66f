from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import ApiKey, Asset, Balance, User
from exchange_site.errors import NotFound


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
