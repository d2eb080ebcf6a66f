"""A bot's view of the REST API: requests signed exactly as docs/api.md says.

X-SIGNATURE = hex HMAC-SHA256(secret, timestamp + METHOD + path-with-query + body)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import requests


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SignedClient:
    def __init__(self, base_url: str, api_key: str, api_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.api_secret = api_secret
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
        timestamp_ms: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = raw_body if raw_body is not None else b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        sent_headers = {
            "X-API-KEY": self.api_key,
            "X-TIMESTAMP": ts,
            "X-SIGNATURE": signature(secret or self.api_secret, ts, method, path, body),
        }
        if body:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        return self.session.request(
            method, self.base_url + path, data=body, headers=sent_headers, timeout=15
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.request("POST", path, json_body=body)

    def delete(self, path: str, **params: Any) -> requests.Response:
        return self.request("DELETE", path, params=params or None)
