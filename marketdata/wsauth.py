"""WebSocket authentication: the signed AUTH frame, and which browser origins may connect.

AUTH params ``{api_key, timestamp, signature}``: ``signature`` = hex HMAC-SHA256(secret,
timestamp + "AUTH"), the REST signing rule over that string; the timestamp (unix ms) must be
within API_SIGNATURE_WINDOW_MS of the server's clock and the key unrevoked with "read".
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

from accounts.keys import api_key_secret
from accounts.models import ApiKey

_TS_RE = re.compile(r"^[0-9]{1,16}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class AuthFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def verify_auth(params: Any, now_ms: int) -> int:
    """The user id the AUTH params prove, or AuthFailed with a stable code."""
    if not isinstance(params, dict):
        raise AuthFailed("invalid_params", "AUTH params must be {api_key, timestamp, signature}.")
    key_id, timestamp, signature = (params.get(k) for k in ("api_key", "timestamp", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not (
        isinstance(key_id, str)
        and 0 < len(key_id) <= 64
        and isinstance(timestamp, str)
        and _TS_RE.match(timestamp)
        and isinstance(signature, str)
        and _HEX_RE.match(signature)
    ):
        raise AuthFailed("invalid_params", "AUTH params must be {api_key, timestamp, signature}.")
    if abs(now_ms - int(timestamp)) > settings.API_SIGNATURE_WINDOW_MS:
        raise AuthFailed("stale_timestamp", "The timestamp is outside the allowed window.")
    key = (
        ApiKey.objects.select_related("user").filter(key_id=key_id, revoked_at__isnull=True).first()
    )
    if key is None or not key.user.is_active:
        raise AuthFailed("invalid_api_key", "Unknown or revoked API key.")
    expected = hmac.new(
        api_key_secret(key).encode(), f"{timestamp}AUTH".encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise AuthFailed("invalid_signature", "The signature does not match.")
    if not key.perm_read:
        raise AuthFailed("permission_denied", "The API key lacks the read permission.")
    return int(key.user_id)


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin: one not in ALLOWED_HOSTS is refused (cross-site WebSocket
    hijacking of the session cookie). Bots send none and authenticate with AUTH, so a missing
    Origin passes (Channels' AllowedHostsOriginValidator would refuse every bot).
    """

    def __init__(self, application: Any) -> None:
        hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not hosts:
            hosts = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, hosts)

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))
