"""API key material. The secret is derived on demand and never stored.

secret = HMAC-SHA256(settings.API_KEY_SECRET_KEY, f"{key_id}:{secret_nonce}").hexdigest()

A stolen database alone does not reveal any secret; rotating API_KEY_SECRET_KEY revokes all keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from accounts.models import ApiKey


def new_key_id() -> str:
    return secrets.token_hex(16)


def new_secret_nonce() -> str:
    return secrets.token_hex(32)


def derive_secret(key_id: str, secret_nonce: str) -> str:
    key = settings.API_KEY_SECRET_KEY.encode()
    return hmac.new(key, f"{key_id}:{secret_nonce}".encode(), hashlib.sha256).hexdigest()


def api_key_secret(api_key: ApiKey) -> str:
    return derive_secret(api_key.key_id, api_key.secret_nonce)
