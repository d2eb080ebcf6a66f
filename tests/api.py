"""Signed requests through Django's test client, and a funded-trader helper for endpoint tests.

Signing is tests.support.signing.signature, the same code the integration tests' bots use.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from accounts.models import ApiKey, User
from tests import factories
from tests.support.signing import signature
from tests.support.waiting import wait_until


class Api:
    """One user's API-key client: every request signed unless told otherwise."""

    def __init__(self, user: User, api_key: ApiKey, secret: str) -> None:
        self.user = user
        self.api_key = api_key
        self.secret = secret
        self.client = Client()

    @classmethod
    def for_user(cls, user: User, *permissions: str) -> Api:
        api_key, secret = factories.make_api_key(user, *(permissions or ("read", "trade")))
        return cls(user, api_key, secret)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        raw: bytes | None = None,
        timestamp_ms: int | None = None,
        secret: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        if params:
            path = f"{path}?{urlencode(params)}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        signed = {
            "X-API-KEY": self.api_key.key_id,
            "X-TIMESTAMP": ts,
            "X-SIGNATURE": signature(secret or self.secret, ts, method, path, data),
            **(headers or {}),
        }
        return self.client.generic(method, path, data, content_type=content_type, headers=signed)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params or None)

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        resp = self.get("/api/v1/user/balances")
        assert resp.status_code == 200, resp.content
        return {b["asset"]: (Decimal(b["available"]), Decimal(b["locked"])) for b in resp.json()}

    def fund(self, **amounts: str) -> Api:
        """Deposit through the API and wait until the matcher credited it."""
        for asset, amount in amounts.items():
            resp = self.post("/api/v1/user/deposit", {"asset": asset, "amount": amount})
            assert resp.status_code == 201, resp.content

        def credited() -> bool:
            got = self.balances()
            return all(got.get(a, (Decimal(0), 0))[0] >= Decimal(v) for a, v in amounts.items())

        wait_until(credited, timeout=10, what="deposits credited")
        return self

    def place(self, **fields: Any) -> Any:
        body = {"symbol": "SOL_USDC", "type": "limit", **fields}
        return self.post("/api/v1/order", body)
