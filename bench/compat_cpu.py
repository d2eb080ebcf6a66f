"""The web process's CPU per order, native (``POST /api/v1/order``) against Binance-compatible
(``POST /api/v3/order``), in-process and interleaved (issue 20's "at most 10 % more").

The two paths differ only in the web process: the same service sends the same command, which
costs the matcher, persister and publisher the same. So this drives Django's WSGI handler
directly (no HTTP server, no load generator sharing the cores) against a running stack's
Redis and matcher, alternating rounds of 100 signed orders and a cancel-all on each path
(A B B A ..., so neither always runs first); the machine's noise hits both alike.
``bench/e2e_orders.py`` measures the same comparison end to end (its ``compat`` phase).

Not a test. Start the stack with bench/stack.sh, then, with the same database and Redis:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench \\
    REDIS_URL=redis://127.0.0.1:6379/2 DEBUG=0 SECRET_KEY=bench-only-$(openssl rand -hex 16) \\
    .venv/bin/python bench/compat_cpu.py
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import random
import secrets
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlencode

import web_cpu  # sets the environment and Django up, as for bench/web_cpu.py
from django.core.handlers.wsgi import WSGIHandler
from e2e_orders import binance_order, order_body

from accounts import services as account_services
from accounts.models import User


class BinanceCaller:
    """Signs as docs/binance-compat.md says: HMAC of the query string + the form body."""

    def __init__(self, key_id: str, secret: str, app: Any) -> None:
        self.key_id, self.secret, self.app = key_id, secret.encode(), app

    def call(self, method: str, route: str, params: dict[str, str]) -> tuple[str, bytes]:
        text = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
        text += "&signature=" + hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()
        raw, query = (text.encode(), "") if method == "POST" else (b"", text)
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
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_X_MBX_APIKEY": self.key_id,
        }
        status: list[str] = []
        out = b"".join(self.app(environ, lambda s, h: status.append(s)))
        return status[0], out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="pairs of 100-order rounds")
    args = parser.parse_args()

    name = f"compatcpu{secrets.token_hex(3)}"
    user = User.objects.create_user(name, f"{name}@example.com", secrets.token_urlsafe(18))
    api_key, secret = account_services.api_key_create(user, permissions=["read", "trade"])
    app = WSGIHandler()
    native = web_cpu.Caller(api_key.key_id, secret)
    native.app = app
    compat = BinanceCaller(api_key.key_id, secret, app)
    for asset, amount in (("USDC", "100000000"), ("SOL", "1000000")):
        status, body = native.call(
            "POST", "/api/v1/user/deposit", {"asset": asset, "amount": amount}
        )
        assert status.startswith("201"), body
    deadline = time.monotonic() + 60
    while len(json.loads(native.call("GET", "/api/v1/user/balances")[1])) < 2:
        if time.monotonic() > deadline:
            raise SystemExit("deposits were not credited within 60 s: is the matcher up?")
        time.sleep(0.1)

    def native_round(rng: random.Random) -> None:
        for _ in range(100):
            status, body = native.call("POST", "/api/v1/order", order_body(rng))
            assert status.startswith("201"), body
        native.call("DELETE", "/api/v1/orders?symbol=SOL_USDC")

    def compat_round(rng: random.Random) -> None:
        for _ in range(100):
            status, body = compat.call("POST", "/api/v3/order", binance_order(rng))
            assert status.startswith("200"), body
        compat.call("DELETE", "/api/v3/openOrders", {"symbol": "SOLUSDC"})

    rounds = {"native": native_round, "compat": compat_round}
    for run in rounds.values():  # warm both paths up (imports, caches) before measuring
        run(random.Random(0))
    cpu: dict[str, list[float]] = {name: [] for name in rounds}
    wall: dict[str, float] = dict.fromkeys(rounds, 0.0)
    for n in range(args.rounds):
        order = ("native", "compat") if n % 2 == 0 else ("compat", "native")
        for variant in order:
            rng = random.Random(n)  # the same orders on both paths
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            rounds[variant](rng)
            cpu[variant].append((time.process_time() - t_cpu) / 100 * 1000)
            wall[variant] += time.perf_counter() - t_wall
    for variant in rounds:
        print(
            f"{variant}: {statistics.mean(cpu[variant]):.3f} ms CPU per order in this process "
            f"(median of rounds {statistics.median(cpu[variant]):.3f}), "
            f"{1000 * wall[variant] / (100 * args.rounds):.3f} ms wall per order (one client)"
        )
    ratios = [c / n for n, c in zip(cpu["native"], cpu["compat"], strict=True)]
    means = statistics.mean(cpu["compat"]) / statistics.mean(cpu["native"])
    print(
        f"compat / native CPU per order: mean {means:.3f}, median of the {len(ratios)} round "
        f"pairs {statistics.median(ratios):.3f} (target <= 1.10)"
    )


if __name__ == "__main__":
    main()
