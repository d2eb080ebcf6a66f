"""Real processes: the REST server (granian, as the run command starts it), matcher shard(s)
and the persister as subprocesses, all on the pytest-django test database and a Redis database
of their own.

Test modules here carry ``pytest.mark.django_db`` (a plain, rolled-back transaction): that is
what makes pytest-django create the test database, and in READ COMMITTED each statement of the
test still sees what the subprocesses committed.

The stack fixture is per module. It resets the exchange's tables (keeping the fee account,
assets and markets) and the Redis keys, so every module starts from an empty venue whose
engine and database agree.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.models import User
from exchange_site import procfile
from exchange_site.web_server import web_server
from pipeline.transport import connect
from tests import factories
from tests.support.pipeline import clear_id_caches, flush_exchange_keys
from tests.support.processes import Proc, free_port, manage, wait_http_ok
from tests.support.signing import SignedClient
from tests.support.waiting import wait_until
from trading.models import Market, MarketStatus

_names = itertools.count(1)

# Everything the matcher and persister project, in an order TRUNCATE accepts.
_RESET_TABLES = (
    "accounts_ledgerentry",
    "accounts_balance",
    "accounts_shardbalance",
    "trading_trade",
    "trading_order",
    "trading_orderlist",
    "accounts_deposit",
    "accounts_withdrawal",
    "accounts_apikey",
    "accounts_auditlogentry",
    "accounts_statement",
    "accounts_reconciliationrun",
    "accounts_totpdevice",
    "accounts_recoverycode",
    "marketdata_kline",
    "trading_eventcheckpoint",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real-process tests run last: the fast suites fail first, and nothing runs after a stack."""
    items.sort(key=lambda item: "tests/integration/" in str(item.path))


def reset_venue() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(_RESET_TABLES)} CASCADE")
    User.objects.filter(is_system=False).delete()
    for symbol in ("SOL_USDC", "BTC_USDC", "ETH_USDC"):
        factories.make_market(symbol)
    Market.objects.update(status=MarketStatus.TRADING)
    clear_id_caches()
    redis = connect(settings.REDIS_URL)
    flush_exchange_keys(redis)
    # Celery's queue and the dev payout backend's records: no task or payout of an earlier
    # module reaches this one's worker. The cache's counters too (throttles, failed log-ins
    # and two-factor codes): user ids start again with every test database.
    stale = [
        *redis.scan_iter(match="payout-dev:*", count=1000),
        *redis.scan_iter(match="cache:*", count=1000),
        *(
            k
            for k in ("celery", "payouts", "unacked", "unacked_index", "unacked_mutex")
            if redis.exists(k)
        ),
    ]
    if stale:
        redis.delete(*stale)


@dataclass
class Trader:
    username: str
    password: str
    user_id: int
    api: SignedClient
    permissions: list[str]


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    log_dir: Path
    shards: list[str]
    procs: dict[str, Proc] = field(default_factory=dict)
    ws_url: str = ""  # with start_stack(websocket=True)

    def start(self, name: str, argv: list[str]) -> Proc:
        proc = Proc(name, argv, self.env, self.log_dir).start()
        self.procs[name] = proc
        return proc

    def restart(self, name: str) -> Proc:
        """Stop ``name`` cleanly and start it again; a matcher is waited for until it beats
        (a clean stop drops its heartbeat), so the next order is answered by it."""
        old = self.procs[name]
        old.stop()
        proc = self.start(name, old.argv)
        if name.startswith("matcher-"):
            shard = name.removeprefix("matcher-")
            wait_until(
                lambda: self.health()["checks"]["shards"][shard]["matcher_alive"],
                timeout=30,
                what=f"{name} beating again",
            )
        return proc

    def kill_and_restart(self, name: str) -> Proc:
        old = self.procs[name]
        old.kill()
        return self.start(name, old.argv)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop()

    def signup(self, prefix: str = "trader", permissions: list[str] | None = None) -> Trader:
        name = f"{prefix}{next(_names)}"
        password = f"pw-{name}-Long-enough-1"
        resp = requests.post(
            f"{self.base_url}/api/v1/users",
            json={"username": name, "password": password, "email": f"{name}@example.com"},
            timeout=10,
        )
        assert resp.status_code == 201, resp.text
        user_id = resp.json()["user_id"]
        body: dict[str, Any] = {"label": "tests"}
        if permissions is not None:
            body["permissions"] = permissions
        resp = requests.post(
            f"{self.base_url}/api/v1/api-keys", json=body, auth=(name, password), timeout=10
        )
        assert resp.status_code == 201, resp.text
        key = resp.json()
        return Trader(
            name,
            password,
            user_id,
            SignedClient(self.base_url, key["api_key"], key["api_secret"]),
            key["permissions"],
        )

    def funded(self, prefix: str = "trader", **amounts: str) -> Trader:
        trader = self.signup(prefix, ["read", "trade", "withdraw"])
        for asset, amount in amounts.items():
            resp = trader.api.post("/api/v1/user/deposit", {"asset": asset, "amount": amount})
            assert resp.status_code == 201, resp.text

        def credited() -> bool:
            resp = trader.api.get("/api/v1/user/balances")
            if resp.status_code == 503:  # writes_not_persisted: a slow persister, ask again
                return False
            got = {b["asset"]: Decimal(b["available"]) for b in resp.json()}
            return all(got.get(a, Decimal(0)) >= Decimal(v) for a, v in amounts.items())

        wait_until(credited, timeout=15, what=f"deposits of {trader.username} credited")
        return trader

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = requests.get(f"{self.base_url}/api/v1/health", timeout=10).json()
        return data

    def wait_settled(self, timeout: float = 30) -> None:
        """Until every shard's persister has caught up with its matcher."""
        client = connect(self.env["REDIS_URL"])

        def settled() -> bool:
            for shard in self.shards:
                base = f"ex:{{{shard}}}"
                produced = client.hget(f"{base}:progress", "seq")
                persisted = client.hget(f"{base}:persisted", "seq")
                pending = client.xpending(f"{base}:commands", "matcher")["pending"]
                if pending or (produced or b"0") != (persisted or b"0"):
                    return False
            return True

        wait_until(settled, timeout=timeout, what="persister caught up")


def _stack_env(shards_spec: str) -> dict[str, str]:
    db = connection.settings_dict
    env = procfile.child_env(os.environ)  # the Procfile's python: this one
    env.update(
        {
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                f"/{db['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "MATCHER_SHARDS": shards_spec,
            "DEBUG": "1",
            "DEPOSITS_AUTO_CONFIRM": "1",
            "THROTTLE_ANON": "100000/min",
            "THROTTLE_USER": "100000/min",
            "THROTTLE_SIGNUP": "100000/min",
            "THROTTLE_ORDERS": "100000/min",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_stack(
    tmp_path_factory: pytest.TempPathFactory,
    shards_spec: str = "s0=*",
    web_workers: int = 2,
    *,
    websocket: bool = False,
    celery: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """The REST server, matcher(s) and persister; with ``websocket``, also the market-data
    publisher and the WebSocket server (uvicorn) as the run command starts them, and the web
    server told where that is (WS_PORT) so its pages connect to it; with ``celery``, the Celery
    worker and beat as the run command starts them (without, deposits are confirmed in the
    request: DEPOSITS_AUTO_CONFIRM=1, the "instant" deposit source). ``extra_env`` is added to
    every process's environment."""
    reset_venue()
    shards = [part.split("=")[0].strip() for part in shards_spec.split(";") if part.strip()]
    port = free_port()
    env = {**_stack_env(shards_spec), **(extra_env or {})}
    ws_port = free_port() if websocket else 0
    if websocket:
        env["WS_PORT"] = str(ws_port)
    stack = Stack(
        f"http://127.0.0.1:{port}",
        env,
        tmp_path_factory.mktemp("stack-logs"),
        shards,
    )
    # The REST server the run command starts (exchange_site.web_server), with fewer
    # threads: the tests send a few requests at a time.
    web = stack.start(
        "web",
        list(
            web_server(sys.executable, host="127.0.0.1", port=port, workers=web_workers, threads=8)
        ),
    )
    for shard in shards:
        stack.start(f"matcher-{shard}", manage("run_matcher", "--shard", shard))
    stack.start("persister", manage("run_persister"))
    # The Procfile's lines are what ./scripts/run starts: the same commands.
    wanted = ["publisher", "ws"] if websocket else []
    if celery:
        wanted += ["celery-worker", "celery-payouts", "celery-beat"]
    for name in wanted:
        stack.start(name, list(procfile.command(name)))
    if websocket:
        stack.ws_url = f"ws://127.0.0.1:{ws_port}/ws"
    wait_http_ok(f"{stack.base_url}/api/v1/markets", web)
    wait_until(lambda: stack.health().get("status") == "ok", timeout=30, what="healthy stack")
    if websocket:
        wait_ws_up(stack)
    return stack


def wait_ws_up(stack: Stack, timeout: float = 30) -> None:
    """Until the WebSocket server answers HTTP on its port (it serves the same Django app)."""
    url = stack.ws_url.replace("ws://", "http://").removesuffix("/ws") + "/api/v1/markets"
    wait_http_ok(url, stack.procs["ws"], timeout=timeout)


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory)
        try:
            yield running
        finally:
            stop_stack(running)


def stop_stack(stack: Stack) -> None:
    """Stop every process, then leave the venue empty: these rows were committed, and tests
    after this module must not see them."""
    stack.stop_all()
    reset_venue()
