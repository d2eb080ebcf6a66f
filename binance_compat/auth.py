"""Binance's request security over our API keys (the same keys, secrets and permissions as
``/api/v1``; docs/binance-compat.md, "Signed requests").

* SIGNED (TRADE, USER_DATA): ``X-MBX-APIKEY`` is the key id; ``timestamp`` (ms, or µs with 16
  digits) and ``signature`` = hex HMAC-SHA256(secret, query string + body, the signature
  parameter taken out); optional ``recvWindow`` (default 5000, at most 60000 ms). Accepted when
  ``timestamp < now + 1000`` and ``now - timestamp <= recvWindow``, Binance's rule.
* USER_STREAM (the listen-key endpoints): the key alone, as Binance has it; a listen key only
  reads the key's user's order and balance events, and the key needs ``read``.

Checked in the native order (accounts/authentication.py): the key exists, then the signature,
then revocation and time, so an outsider learns nothing about a key id but whether it exists.
The key comes from the same per-process cache; a write's revocation check rides on the command
it sends (``DeferredKeyCheck``), as on ``/api/v1``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts import key_cache, keys
from accounts.authentication import DeferredKeyCheck, record_key_use
from accounts.models import ApiKey, User
from binance_compat.errors import BAD_KEY, BinanceError, mandatory
from binance_compat.params import Params

HEADER = "HTTP_X_MBX_APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
_TS_DIGITS = range(1, 17)


def params_of(request: Request) -> Params:
    """The request's parameters, parsed once (query string, and the body of POST and PUT)."""
    found: Params | None = getattr(request, "binance_params", None)
    if found is None:
        django_request = request._request
        body = django_request.body if request.method in ("POST", "PUT", "DELETE") else b""
        found = Params(django_request.META.get("QUERY_STRING", ""), body)
        request.binance_params = found  # type: ignore[attr-defined]
    return found


def _bad_key() -> BinanceError:
    return BinanceError(-2015, BAD_KEY, 401)


def _timestamp_ms(raw: str | None) -> int:
    if raw is None:
        raise mandatory("timestamp")
    if not (raw.isascii() and raw.isdigit() and len(raw) in _TS_DIGITS):
        raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'.")
    value = int(raw)
    return value // 1000 if len(raw) == 16 else value  # microseconds, as Binance accepts


def _recv_window(raw: str | None) -> Decimal:
    if raw is None:
        return Decimal(DEFAULT_RECV_WINDOW_MS)
    try:
        value = Decimal(raw) if len(raw) <= 12 else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -3:  # type: ignore[operator]
        raise BinanceError(-1130, "Data sent for parameter 'recvWindow' is not valid.")
    if value > MAX_RECV_WINDOW_MS:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    return value


def check_time(timestamp_ms: int, recv_window: Decimal, now_ms: float) -> None:
    """Binance's timing security: not more than 1 s ahead, not older than the window."""
    if timestamp_ms >= now_ms + 1000:
        raise BinanceError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now_ms - timestamp_ms > recv_window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def signature_of(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def find_usable_key(key_id: str, defer_check: bool = False) -> tuple[ApiKey, bool]:
    if not key_id or len(key_id) > 64 or "\x00" in key_id:
        raise _bad_key()
    found, unchecked = key_cache.find_key(key_id, defer_check=defer_check)
    if found is None or not found.user.is_active:
        raise _bad_key()
    return found, unchecked


class BinanceAuthentication(BaseAuthentication):
    """A view sets ``security = "signed"`` (default) or ``"user_stream"``."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        key_id = request.META.get(HEADER)
        if key_id is None:
            return None  # the permission check then answers -2014
        view = request.parser_context.get("view")
        defer = request.method in ("POST", "DELETE", "PUT") and getattr(
            view, "key_checked_by_command", False
        )
        api_key, unchecked = find_usable_key(key_id, defer_check=defer)
        if getattr(view, "security", "signed") == "user_stream":
            if api_key.revoked_at is not None:
                raise _bad_key()
            record_key_use(api_key)
            return api_key.user, api_key

        params = params_of(request)
        timestamp = _timestamp_ms(params.values.get("timestamp"))
        given = params.values.get("signature")
        if not given:
            raise mandatory("signature")
        wanted = signature_of(keys.api_key_secret(api_key), params.signed_payload())
        if not hmac.compare_digest(given.lower().encode(), wanted.encode()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        if api_key.revoked_at is not None:
            raise _bad_key()
        check_time(timestamp, _recv_window(params.values.get("recvWindow")), time.time() * 1000)
        record_key_use(api_key)
        if unchecked:
            request.key_check = DeferredKeyCheck(api_key)  # type: ignore[attr-defined]
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'X-MBX-APIKEY realm="api"'


def verify_ws_signature(params: Any, now_ms: float) -> ApiKey:
    """The WebSocket API's signed request (``userDataStream.subscribe.signature``):
    ``params`` = {apiKey, timestamp, [recvWindow], signature}, the signature over the other
    parameters sorted by name and URL-encoded (Binance's WebSocket API rule)."""
    if not isinstance(params, dict) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in params.values()
    ):
        raise BinanceError(
            -1102, "Mandatory parameter 'params' was not sent, was empty/null, or malformed."
        )
    key_id = params.get("apiKey")
    if not isinstance(key_id, str):
        raise mandatory("apiKey")
    api_key, _ = find_usable_key(key_id)
    timestamp = _timestamp_ms(None if params.get("timestamp") is None else str(params["timestamp"]))
    given = params.get("signature")
    if not isinstance(given, str) or not given:
        raise mandatory("signature")
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "signature")
    wanted = signature_of(keys.api_key_secret(api_key), payload)
    if not hmac.compare_digest(given.lower().encode(), wanted.encode()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    if api_key.revoked_at is not None:
        raise _bad_key()
    window = params.get("recvWindow")
    check_time(timestamp, _recv_window(None if window is None else str(window)), now_ms)
    if not api_key.perm_read:
        raise _bad_key()
    return api_key
