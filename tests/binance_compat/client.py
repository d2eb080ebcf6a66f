"""Binance-style requests through Django's test client: parameters in the query string (GET,
DELETE) or a form body (POST, PUT), ``timestamp`` and ``signature`` = hex HMAC-SHA256 of the
query string plus the body, ``X-MBX-APIKEY`` the key id: docs/binance-compat.md."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from accounts.models import ApiKey, User
from tests import factories


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class BinanceClient:
    def __init__(self, user: User, api_key: ApiKey, secret: str) -> None:
        self.user = user
        self.api_key = api_key
        self.secret = secret
        self.client = Client()

    @classmethod
    def for_user(cls, user: User, *permissions: str) -> BinanceClient:
        api_key, secret = factories.make_api_key(user, *(permissions or ("read", "trade")))
        return cls(user, api_key, secret)

    def signed(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        timestamp_ms: int | None = None,
        secret: str | None = None,
        in_body: bool | None = None,
        key: str | None = None,
    ) -> Any:
        values = {k: str(v) for k, v in (params or {}).items()}
        values["timestamp"] = str(
            timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        )
        text = urlencode(values)
        text += "&signature=" + sign(secret or self.secret, text)
        body_first = method in ("POST", "PUT") if in_body is None else in_body
        headers = {"X-MBX-APIKEY": key if key is not None else self.api_key.key_id}
        if body_first:
            return self.client.generic(
                method,
                "/api/v3/" + path,
                text.encode(),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        return self.client.generic(method, f"/api/v3/{path}?{text}", headers=headers)

    def public(self, path: str, **params: Any) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        return self.client.get(f"/api/v3/{path}{query}")
