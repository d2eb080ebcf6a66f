"""The web process's CPU per signed order, in-process, interleaved: current path against old.

Drives Django's WSGI handler directly (no HTTP server) against a running stack's Redis and
matcher, so the machine's noise hits both variants alike: rounds of 100 signed orders and a
cancel-all, alternating between

- ``new``: the settings as they are (browser middleware skipped for signed requests, the
  key's revocation checked by the order's own submit), and
- ``old``: Django's stock middleware and the markers' MGET before the view (session 6).

Not a test. Start the stack with bench/stack.sh, then, with the same database and Redis:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench \\
    REDIS_URL=redis://127.0.0.1:6379/2 DEBUG=0 SECRET_KEY=bench-only-$(openssl rand -hex 16) \\
    .venv/bin/python bench/web_cpu.py
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import os
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
os.environ.setdefault("THROTTLE_ORDERS", "10000000/min")
os.environ.setdefault("THROTTLE_USER", "10000000/min")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DEPOSITS_AUTO_CONFIRM", "1")

import django

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import User  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_orders import order_body  # noqa: E402

from trading.apis import OrderWritesApi  # noqa: E402

STOCK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "exchange_site.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


class Caller:
    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret.encode()
        self.app: Any = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[str, bytes]:
        raw = b"" if body is None else json.dumps(body).encode()
        ts = str(int(time.time() * 1000))
        sig = hmac.new(self.secret, (ts + method + path).encode() + raw, hashlib.sha256)
        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(raw),
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(raw)),
            "CONTENT_TYPE": "application/json",
            "HTTP_X_API_KEY": self.key_id,
            "HTTP_X_TIMESTAMP": ts,
            "HTTP_X_SIGNATURE": sig.hexdigest(),
        }
        status: list[str] = []
        out = b"".join(self.app(environ, lambda s, h: status.append(s)))
        return status[0], out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    name = f"webcpu{secrets.token_hex(3)}"
    user = User.objects.create_user(name, f"{name}@example.com", secrets.token_urlsafe(18))
    api_key, secret = account_services.api_key_create(user, permissions=["read", "trade"])
    caller = Caller(api_key.key_id, secret)
    apps = {"new": WSGIHandler()}
    with override_settings(MIDDLEWARE=STOCK_MIDDLEWARE):
        apps["old"] = WSGIHandler()
    caller.app = apps["new"]
    for asset, amount in (("USDC", "100000000"), ("SOL", "1000000")):
        deposit = {"asset": asset, "amount": amount}
        status, body = caller.call("POST", "/api/v1/user/deposit", deposit)
        assert status.startswith("201"), body
    deadline = time.monotonic() + 60
    while len(json.loads(caller.call("GET", "/api/v1/user/balances")[1])) < 2:
        if time.monotonic() > deadline:
            raise SystemExit("deposits were not credited within 60 s: is the matcher up?")
        time.sleep(0.1)

    rng = random.Random(1)
    cpu = dict.fromkeys(apps, 0.0)
    wall = dict.fromkeys(apps, 0.0)
    for _ in range(args.rounds):
        for variant, app in apps.items():
            caller.app = app
            OrderWritesApi.key_checked_by_command = variant == "new"
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            for _ in range(100):
                status, body = caller.call("POST", "/api/v1/order", order_body(rng))
                assert status.startswith("201"), body
            caller.call("DELETE", "/api/v1/orders?symbol=SOL_USDC")
            cpu[variant] += time.process_time() - t_cpu
            wall[variant] += time.perf_counter() - t_wall
    n = 100 * args.rounds
    for variant in apps:
        print(
            f"{variant}: {1000 * cpu[variant] / n:.3f} ms CPU per order in this process, "
            f"{1000 * wall[variant] / n:.3f} ms wall per order (one client)"
        )


if __name__ == "__main__":
    main()
