"""Writes of the Binance-compatible surface. Orders are not here: they are
``trading.services``' (the views call them directly, as the native views do).

Listen keys (``/api/v3/userDataStream``): a random 64-character key naming one API key's user
stream, valid for 60 minutes after its creation or last keep-alive, as on Binance. They live in
the cache's Redis (``CACHE_REDIS_URL``; losing them only means clients ask for new ones), with
one per API key: asking again returns the same key and extends it, as Binance does.
"""

from __future__ import annotations

import secrets

from django.core.cache import cache

from accounts.models import ApiKey

LISTEN_KEY_TTL_S = 3600
_BY_KEY = "bn-listen-of:"
_KEY = "bn-listen:"


def listen_key_open(api_key: ApiKey) -> str:
    existing = cache.get(_BY_KEY + api_key.key_id)
    if isinstance(existing, str) and cache.touch(_KEY + existing, LISTEN_KEY_TTL_S):
        cache.touch(_BY_KEY + api_key.key_id, LISTEN_KEY_TTL_S)
        return existing
    listen_key = secrets.token_urlsafe(48)  # 64 characters
    cache.set(_KEY + listen_key, (api_key.user_id, api_key.key_id), LISTEN_KEY_TTL_S)
    cache.set(_BY_KEY + api_key.key_id, listen_key, LISTEN_KEY_TTL_S)
    return listen_key


def _owned(listen_key: str, api_key: ApiKey) -> bool:
    found = cache.get(_KEY + listen_key) if 0 < len(listen_key) <= 128 else None
    return isinstance(found, tuple) and found[0] == api_key.user_id


def listen_key_keepalive(listen_key: str, api_key: ApiKey) -> bool:
    """Extend the key by 60 minutes; False if it does not exist (or is another user's)."""
    if not _owned(listen_key, api_key):
        return False
    cache.touch(_KEY + listen_key, LISTEN_KEY_TTL_S)
    return True


def listen_key_close(listen_key: str, api_key: ApiKey) -> bool:
    if not _owned(listen_key, api_key):
        return False
    found = cache.get(_KEY + listen_key)
    cache.delete(_KEY + listen_key)
    if isinstance(found, tuple):
        cache.delete(_BY_KEY + found[1])
    return True


def listen_key_owner(listen_key: str) -> tuple[int, str] | None:
    """(user id, API key id) of a live listen key, or None."""
    if not 0 < len(listen_key) <= 128:
        return None
    found = cache.get(_KEY + listen_key)
    if not isinstance(found, tuple) or len(found) != 2:
        return None
    return int(found[0]), str(found[1])
