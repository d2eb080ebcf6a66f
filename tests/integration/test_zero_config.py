"""The README's run command, as a newcomer runs it: ``./scripts/run`` with no DATABASE_URL and no
REDIS_URL (SQLite and the embedded Redis 6.2, local state in a temporary VAR_DIR), traded over
HTTP and WebSocket, then stopped with SIGTERM: nothing it started may be left running.

One module-scoped run; the tests read in order (users, a cross, cancels, market data, stop).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import connect as ws_connect

from tests.support.processes import ROOT, free_port
from tests.support.signing import SignedClient
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # websockets 17 prefers `with connect(...)`; the feed lives across a test on purpose
    pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager"),
]

D = Decimal
SYMBOL = "SOL_USDC"  # a demo market: tick 0.01, lot 0.01, maker 0.10 %, taker 0.20 %


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    base_url: str
    ws_url: str
    var_dir: Path
    log_path: Path
    started: set[tuple[int, str]] = field(default_factory=set)  # (pid, start time)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, from /proc; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited
        return None
    return int(fields[1]), fields[19]


def descendants(root: int) -> set[tuple[int, str]]:
    """Every live process below ``root``, as (pid, start time): a pid may be reused later."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry.name))
                starts[int(entry.name)] = stat[1]
    found: set[tuple[int, str]] = set()
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add((child, starts[child]))
            todo.append(child)
    return found


def still_running(procs: set[tuple[int, str]]) -> list[int]:
    return [pid for pid, start in procs if (_proc_stat(pid) or (0, ""))[1] == start]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    var_dir = tmp_path_factory.mktemp("zero-config-var")
    log_path = var_dir.parent / "run-command.log"
    port, ws_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "LOG_LEVEL", "DEBUG")
    }
    env.update(VAR_DIR=str(var_dir), PORT=str(port), WS_PORT=str(ws_port), HOST="127.0.0.1")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the test's terminal is not the run's
        )
    running = Run(
        proc, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{ws_port}/ws", var_dir, log_path
    )

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the run command exited:\n{running.output()[-4000:]}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{running.base_url}/api/v1/health", timeout=2).status_code == 200
        return False

    try:
        # A fresh SQLite database is migrated and seeded first.
        wait_until(healthy, timeout=120, what="the zero-config exchange healthy")
        wait_until(
            lambda: len(descendants(proc.pid)) >= 9, timeout=30, what="every service started"
        )
        running.started = descendants(proc.pid)
        yield running
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                for pid in still_running(running.started):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                raise


@dataclass
class User:
    name: str
    api: SignedClient


def signup(run: Run, name: str) -> User:
    password = f"pw-{name}-Long-enough-1"
    resp = requests.post(
        f"{run.base_url}/api/v1/users",
        json={"username": name, "password": password, "email": f"{name}@example.com"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    resp = requests.post(
        f"{run.base_url}/api/v1/api-keys",
        json={"label": "zero-config", "permissions": ["read", "trade"]},
        auth=(name, password),
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    key = resp.json()
    return User(name, SignedClient(run.base_url, key["api_key"], key["api_secret"]))


def balances(user: User) -> dict[str, tuple[Decimal, Decimal]]:
    resp = user.api.get("/api/v1/user/balances")
    assert resp.status_code == 200, resp.text
    return {b["asset"]: (D(b["available"]), D(b["locked"])) for b in resp.json()}


def deposit(user: User, **amounts: str) -> None:
    for asset, amount in amounts.items():
        resp = user.api.post("/api/v1/user/deposit", {"asset": asset, "amount": amount})
        assert resp.status_code == 201, resp.text
    wait_until(
        lambda: all(balances(user).get(a, (D(0), D(0)))[0] == D(v) for a, v in amounts.items()),
        timeout=20,
        what=f"{user.name}'s deposits credited",
    )


def place(user: User, **fields: str) -> dict[str, Any]:
    body = {"symbol": SYMBOL, "type": "limit", **fields}
    resp = user.api.post("/api/v1/order", body)
    assert resp.status_code == 201, resp.text
    order: dict[str, Any] = resp.json()
    return order


class TradeFeed:
    """A WebSocket client subscribed to ``trade.SOL_USDC``, collecting in a thread."""

    def __init__(self, url: str) -> None:
        self.ws = ws_connect(url, compression=None, open_timeout=10)
        self.ws.send(json.dumps({"method": "SUBSCRIBE", "params": [f"trade.{SYMBOL}"], "id": 1}))
        assert json.loads(self.ws.recv(10)) == {"id": 1, "result": None}
        self.trades: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # closed at the end of the test
            for raw in self.ws:
                message = json.loads(raw)
                if message.get("stream") == f"trade.{SYMBOL}":
                    self.trades.append(message["data"])

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def traders(run: Run) -> tuple[User, User]:
    stamp = int(time.time())
    maker, taker = signup(run, f"maker{stamp}"), signup(run, f"taker{stamp}")
    deposit(maker, USDC="1000")
    deposit(taker, SOL="10")
    return maker, taker


def test_health_names_sqlite_and_the_embedded_redis(run: Run) -> None:
    checks = requests.get(f"{run.base_url}/api/v1/health", timeout=10).json()["checks"]
    assert checks["database"] == {"ok": True, "vendor": "sqlite"}
    assert "postgres" not in checks
    assert checks["redis"]["ok"] and checks["redis"]["version"].startswith("6.2.")
    assert (run.var_dir / "exchange.sqlite3").exists()
    assert (run.var_dir / "redis" / "appendonly.aof").exists()


def test_crossing_limit_orders_fill_with_fees_and_settle_balances(
    run: Run, traders: tuple[User, User]
) -> None:
    maker, taker = traders
    feed = TradeFeed(run.ws_url)
    try:
        # given the maker's resting buy of 2 SOL at 25
        bid = place(maker, side="buy", price="25.00", quantity="2")
        assert bid["status"] == "new"
        assert balances(maker)["USDC"] == (D(950), D(50))

        # when the taker sells 2 SOL at 24.50
        sold = place(taker, side="sell", price="24.50", quantity="2")

        # then it fills at the maker's price, the taker paying 0.20 % in USDC
        assert sold["status"] == "filled"
        [fill] = sold["fills"]
        assert (D(fill["price"]), D(fill["quantity"])) == (D(25), D(2))
        assert (D(fill["fee"]), fill["fee_asset"], fill["liquidity"]) == (D("0.1"), "USDC", "taker")
        assert balances(taker)["SOL"] == (D(8), D(0))
        assert balances(taker)["USDC"] == (D("49.9"), D(0))
        # and the maker got 2 SOL less 0.10 %, and reads its order filled at once
        assert balances(maker)["SOL"] == (D("1.998"), D(0))
        assert balances(maker)["USDC"] == (D(950), D(0))
        got = maker.api.get("/api/v1/order", symbol=SYMBOL, order_id=bid["order_id"]).json()
        assert got["status"] == "filled"
        [maker_fill] = maker.api.get("/api/v1/user/trades", symbol=SYMBOL).json()["results"]
        assert (D(maker_fill["fee"]), maker_fill["fee_asset"]) == (D("0.002"), "SOL")
        assert maker_fill["liquidity"] == "maker"

        # and the trade reached the public stream
        trade = wait_until(lambda: feed.trades, timeout=10, what="the trade on the stream")[0]
        assert (D(trade["p"]), D(trade["q"]), trade["m"]) == (D(25), D(2), True)
    finally:
        feed.close()


def test_cancel_and_cancel_all_release_the_holds(run: Run, traders: tuple[User, User]) -> None:
    maker, _ = traders
    one = place(maker, side="buy", price="10", quantity="1")
    resp = maker.api.delete("/api/v1/order", symbol=SYMBOL, order_id=one["order_id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "cancelled"

    for price in ("11", "12"):
        place(maker, side="buy", price=price, quantity="1")
    assert balances(maker)["USDC"] == (D(927), D(23))
    resp = maker.api.delete("/api/v1/orders", symbol=SYMBOL)
    assert resp.status_code == 200, resp.text
    assert sorted(o["status"] for o in resp.json()) == ["cancelled", "cancelled"]
    assert maker.api.get("/api/v1/orders", symbol=SYMBOL).json() == []
    assert balances(maker)["USDC"] == (D(950), D(0))


def test_market_data_shows_the_book_the_trade_and_its_candle(
    run: Run, traders: tuple[User, User]
) -> None:
    _, taker = traders
    place(taker, side="sell", price="30", quantity="1.5")
    depth = requests.get(f"{run.base_url}/api/v1/depth", params={"symbol": SYMBOL}, timeout=10)
    assert depth.status_code == 200, depth.text
    assert [[D(p), D(q)] for p, q in depth.json()["asks"]] == [[D(30), D("1.5")]]
    trades = requests.get(f"{run.base_url}/api/v1/trades", params={"symbol": SYMBOL}, timeout=10)
    assert [(D(t["price"]), D(t["quantity"])) for t in trades.json()] == [(D(25), D(2))]

    def candle() -> list[Any]:
        resp = requests.get(
            f"{run.base_url}/api/v1/klines",
            params={"symbol": SYMBOL, "interval": "1m"},
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        return list(resp.json())

    [kline] = wait_until(candle, timeout=10, what="the 1m candle")
    assert D(kline["volume"]) == D(2) and D(kline["close"]) == D(25)


def test_sigterm_stops_every_process_the_run_command_started(run: Run) -> None:
    # every service is still up after the tests
    assert sorted(still_running(run.started)) == sorted(pid for pid, _ in run.started)

    run.proc.send_signal(signal.SIGTERM)
    assert run.proc.wait(timeout=60) == 0

    wait_until(lambda: not still_running(run.started), timeout=10, what="every child gone")
    output = run.output()
    assert "all processes stopped" in output
    # and the terminal held the start lines, the URLs and logins, and no INFO chatter
    assert "Exchange running at" in output and "alice / demo-password-alice" in output
    for noise in (" INFO ", "SecurityWarning", "seems quite high", "celery beat v", "Applying "):
        assert noise not in output, f"{noise!r} in the run command's output"
