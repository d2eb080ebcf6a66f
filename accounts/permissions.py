"""What an authenticated request may do.

A session is the account owner and may do anything. An API key may do what its permissions say:
each view names the permission per method in ``required_permissions`` (default: ``read`` for
GET/HEAD/OPTIONS, ``trade`` otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.authentication import deferred_key_check
from accounts.models import ApiKey, User

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView


def required_permission(request: Request, view: APIView) -> str:
    by_method: dict[str, str] = getattr(view, "required_permissions", {})
    method = request.method or "GET"
    return by_method.get(method) or ("read" if method in SAFE_METHODS else "trade")


class HasKeyPermission(BasePermission):
    code = "missing_permission"
    message = "This API key lacks the permission this endpoint needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False  # DRF turns this into 401 authentication_required
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        needed = required_permission(request, view)
        if getattr(key, f"perm_{needed}", False):
            return True
        if (check := deferred_key_check(request)) is not None:
            check.check_now()  # a key revoked since it was cached is refused as revoked (401)
        self.message = f"This API key lacks the {needed!r} permission."
        return False


def caller(request: Request) -> User:
    """The authenticated user of a private endpoint (the permission classes ran first)."""
    user = request.user
    if not isinstance(user, User):  # unreachable behind HasKeyPermission / IsAuthenticated
        raise TypeError("caller() on an unauthenticated request")
    return user
