"""Signed API-key authentication, and password authentication with a failure limit.

A request carries ``X-API-KEY`` (the key id), ``X-TIMESTAMP`` (unix ms) and ``X-SIGNATURE``, the
hex HMAC-SHA256 of ``timestamp + METHOD + path-with-query + body`` under the key's secret.
The key and its user come from a per-process cache that sees revocation at once
(accounts/key_cache.py). The signature is checked before revocation and freshness are
reported, so an outsider learns nothing about a key id but whether it exists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts import key_cache, keys
from accounts.models import ApiKey, User
from common.errors import PayloadTooLarge, Unauthenticated
from pipeline.client import KeyCheck

log = logging.getLogger(__name__)

SCHEME = "X-API-KEY"
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not an audit log
_MAX_TIMESTAMP_DIGITS = 16
UNKNOWN_KEY = "Unknown API key."
REVOKED_KEY = "This API key was revoked."


def _fail(code: str, message: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code=code)


def expected_signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = b"".join((timestamp.encode(), method.upper().encode(), path.encode(), body))
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _refuse_unusable(api_key: ApiKey | None) -> ApiKey:
    if api_key is None or not api_key.user.is_active:
        raise _fail("invalid_api_key", UNKNOWN_KEY)
    return api_key


class DeferredKeyCheck:
    """A signed write's revocation check, made by the command the request sends.

    The order write hands ``check`` to its first command (trading.services.writer): the submit
    refuses to append it while the key or its user has a switched-off marker on the shard.
    Then ``confirm`` asks the database, which refuses (401) or lets the command be sent again
    (the marker was for a change that rolled back). A request that sends no command is checked
    by ``check_now``, as a read is.
    """

    def __init__(self, api_key: ApiKey) -> None:
        self.check = KeyCheck(api_key.key_id, api_key.user_id)

    def confirm(self) -> None:
        """A marker was found: raise Unauthenticated unless the database still has the key,
        unrevoked, and its user active."""
        api_key = key_cache.load_key(self.check.key_id)
        if api_key is None or not api_key.user.is_active:
            raise Unauthenticated(UNKNOWN_KEY, code="invalid_api_key")
        if api_key.revoked_at is not None:
            raise Unauthenticated(REVOKED_KEY, code="api_key_revoked")

    def check_now(self) -> None:
        if key_cache.markers_switched_off(self.check.key_id, self.check.user_id):
            self.confirm()


def deferred_key_check(request: Request) -> DeferredKeyCheck | None:
    """The request's deferred revocation check, if its authentication left one."""
    found: DeferredKeyCheck | None = getattr(request, "key_check", None)
    return found


class ApiKeyAuthentication(BaseAuthentication):
    """A view whose POST, PATCH and DELETE send a matcher command and pass the request's
    ``deferred_key_check`` to it says so with ``key_checked_by_command = True``."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        meta = request.META
        key_id = meta.get("HTTP_X_API_KEY")
        if key_id is None:
            return None  # not an API request: the next authenticator (session) decides
        view = request.parser_context.get("view")
        defer = request.method in ("POST", "PATCH", "DELETE") and getattr(
            view, "key_checked_by_command", False
        )
        found, unchecked = (None, False)
        if key_id and "\x00" not in key_id:  # (PostgreSQL text refuses NUL: no such key)
            found, unchecked = key_cache.find_key(key_id[:64], defer_check=defer)
        api_key = _refuse_unusable(found)

        timestamp = meta.get("HTTP_X_TIMESTAMP", "")
        if not (timestamp.isascii() and timestamp.isdigit()) or (
            len(timestamp) > _MAX_TIMESTAMP_DIGITS
        ):
            raise _fail("invalid_timestamp", "X-TIMESTAMP must be unix time in milliseconds.")

        try:
            body = request._request.body  # the raw bytes, as signed
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        given = meta.get("HTTP_X_SIGNATURE", "")
        wanted = expected_signature(
            keys.api_key_secret(api_key),
            timestamp,
            request.method or "",
            request._request.get_full_path(),
            body,
        )
        if not hmac.compare_digest(given.lower().encode(), wanted.encode()):
            raise _fail("invalid_signature", "The signature does not match the request.")

        if api_key.revoked_at is not None:
            raise _fail("api_key_revoked", REVOKED_KEY)
        skew = abs(time.time() * 1000 - int(timestamp))
        if skew > settings.API_SIGNATURE_WINDOW_MS:
            raise _fail(
                "timestamp_out_of_window",
                f"X-TIMESTAMP is {int(skew)} ms away from the server's clock "
                f"(allowed: {settings.API_SIGNATURE_WINDOW_MS} ms).",
            )
        _touch(api_key)
        if unchecked:
            request.key_check = DeferredKeyCheck(api_key)  # type: ignore[attr-defined]
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Any value makes DRF answer 401 rather than 403; not "Basic", so no browser prompt.
        return f'{SCHEME} realm="api"'


_touched: dict[str, datetime] = {}  # key id -> when this process last wrote last_used_at


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute per key and process: no write on the hot path
    otherwise. The key row may come from the cache (older than the last write), hence the
    process's own note of its last write."""
    now = timezone.now()
    seen = [t for t in (api_key.last_used_at, _touched.get(api_key.key_id)) if t is not None]
    if not seen or now - max(seen) >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        if len(_touched) >= 50_000:
            _touched.clear()
        _touched[api_key.key_id] = now


# Also for the Binance-compatible surface's authentication (binance_compat/auth.py).
record_key_use = _touch


def key_permissions(auth: Any) -> list[str]:
    """What the request may do: a key's permissions; a session (the owner) may do anything."""
    if isinstance(auth, ApiKey):
        return auth.permissions
    return list(ApiKey.PERMISSIONS)


class PasswordAuthentication(BasicAuthentication):
    """HTTP Basic (username + password), with failed attempts limited.

    Failures are counted per username and per client address for LOGIN_FAILURE_WINDOW_S; past
    LOGIN_FAILURES_PER_USER (or _PER_IP) every attempt, even with the right password, answers
    429 until the window ends, so a password cannot be guessed through the API. A cache outage
    lets attempts through (fail open, like the throttles) rather than locking everyone out.
    """

    def authenticate_credentials(
        self, userid: str, password: str, request: Any = None
    ) -> tuple[Any, None]:
        if "\x00" in userid:  # PostgreSQL text refuses NUL: no such user, never a 500
            raise AuthenticationFailed("Invalid username/password.")
        if login_blocked(userid, request):
            raise Throttled(wait=settings.LOGIN_FAILURE_WINDOW_S)
        try:
            return super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            record_login_failure(userid, request)
            raise


def login_blocked(userid: str, request: Any) -> bool:
    """Whether log-ins as ``userid`` from ``request``'s address are refused for now: the API's
    HTTP Basic and the web log-in page share these counters."""
    keys = _login_failure_keys(userid, request)
    limits = (settings.LOGIN_FAILURES_PER_USER, settings.LOGIN_FAILURES_PER_IP)
    try:
        counts = cache.get_many(keys)
    except Exception:  # fail open, see PasswordAuthentication
        counts = {}
    return any(int(counts.get(key, 0)) >= limit for key, limit in zip(keys, limits, strict=True))


def record_login_failure(userid: str, request: Any) -> None:
    _record_login_failure(_login_failure_keys(userid, request))


def _login_failure_keys(userid: str, request: Any) -> list[str]:
    who = hashlib.sha256(userid.lower().encode()).hexdigest()[:32]
    address = BaseThrottle().get_ident(request) if request is not None else "-"
    return [f"login-fail:u:{who}", f"login-fail:ip:{address}"]


def _record_login_failure(keys: list[str]) -> None:
    try:
        for key in keys:
            cache.add(key, 0, settings.LOGIN_FAILURE_WINDOW_S)
            cache.incr(key)
    except Exception:
        log.warning("could not record a failed login", exc_info=True)
