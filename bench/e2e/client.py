"""The benchmark's HTTP client (signed as docs/api.md and Binance sign) and its funded traders."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests


@dataclass
class Key:
    api_key: str
    api_secret: str


class Signed:
    """A keep-alive HTTP/1.1 connection that signs as docs/api.md says.

    Written on a bare socket: the load generator shares the two cores with the stack it
    measures, and ``http.client`` cost about three times the CPU per request.
    """

    def __init__(self, base_url: str, key: Key) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = key
        self.secret = key.api_secret.encode()
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        return sock

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        raw = b"" if body is None else json.dumps(body).encode()
        ts = str(int(time.time() * 1000))
        msg = ts.encode() + method.encode() + path.encode() + raw
        sig = hmac.new(self.secret, msg, hashlib.sha256).hexdigest()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"X-API-KEY: {self.key.api_key}\r\nX-TIMESTAMP: {ts}\r\nX-SIGNATURE: {sig}\r\n"
        )
        if raw:
            head += f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
        request = head.encode() + b"\r\n" + raw
        return self._roundtrip(request)

    def call_binance(self, method: str, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """A Binance-signed request (docs/binance-compat.md): parameters in the query string
        (DELETE) or a form body (POST), ``signature`` = HMAC of the query string + body."""
        text = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
        text += "&signature=" + hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()
        head = f"X-MBX-APIKEY: {self.key.api_key}\r\n"
        if method == "POST":
            target, raw = path, text.encode()
            head += (
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(raw)}\r\n"
            )
        else:
            target, raw = f"{path}?{text}", b""
        request = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n{head}\r\n".encode() + raw
        return self._roundtrip(request)

    def _roundtrip(self, request: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self.sock = self._connect()
                self.sock.sendall(request)
                return self._response()
            except OSError:
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, bytes]:
        assert self.sock is not None
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            self.buf = rest
            self._fill()
            rest = self.buf
        body, self.buf = rest[:length], rest[length:]
        if close:
            self.sock.close()
            self.sock = None
        return status, body

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("server closed the connection")
        self.buf += chunk


def setup_traders(base_url: str, n: int, run_id: str) -> list[Key]:
    keys = []
    for i in range(n):
        name, password = f"bench{run_id}x{i}", secrets.token_urlsafe(18)
        resp = requests.post(
            f"{base_url}/api/v1/users",
            json={"username": name, "password": password, "email": f"{name}@example.com"},
            timeout=30,
        )
        resp.raise_for_status()
        resp = requests.post(
            f"{base_url}/api/v1/api-keys",
            json={"permissions": ["read", "trade"]},
            auth=(name, password),
            timeout=30,
        )
        resp.raise_for_status()
        key = Key(resp.json()["api_key"], resp.json()["api_secret"])
        client = Signed(base_url, key)
        for asset, amount in (("USDC", "100000000"), ("SOL", "1000000"), ("ETH", "100000")):
            status, body = client.call(
                "POST", "/api/v1/user/deposit", {"asset": asset, "amount": amount}
            )
            assert status == 201, body
        keys.append(key)
    deadline = time.monotonic() + 60
    for key in keys:
        client = Signed(base_url, key)
        while True:
            _, body = client.call("GET", "/api/v1/user/balances")
            if len(json.loads(body)) >= 3:
                break
            if time.monotonic() > deadline:
                raise SystemExit("deposits were not credited within 60 s: is the matcher up?")
            time.sleep(0.1)
    return keys
