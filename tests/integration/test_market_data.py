"""Market data end to end: the REST server + matcher + persister (tests/integration/conftest.py)
plus the publisher and uvicorn serving /ws, with a real WebSocket client while seeded random order
flow from several users runs over signed REST."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from websockets.sync.client import connect as ws_connect

from common.clock import datetime_to_ms
from marketdata.aggregation import open_time
from marketdata.groups import prefix_for
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.support.processes import Proc, free_port, manage
from tests.support.waiting import wait_until
from trading.models import Market, Order, Trade

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db,
    # websockets 17 prefers `with connect(...)`; these clients live across a test on purpose
    pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager"),
]

SYMBOL = "SOL_USDC"
D = Decimal


class Feed:
    """A WebSocket client in a thread that keeps every message it receives."""

    def __init__(self, url: str, streams: list[str], trader: Trader | None = None) -> None:
        self.ws = ws_connect(url, compression=None, open_timeout=10)
        self.replies: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.closed = False
        if trader is not None:
            ts = str(time.time_ns() // 1_000_000)
            secret = trader.api.api_secret.encode()
            sig = hmac.new(secret, f"{ts}AUTH".encode(), hashlib.sha256).hexdigest()
            params = {"api_key": trader.api.api_key, "timestamp": ts, "signature": sig}
            self.ws.send(json.dumps({"method": "AUTH", "params": params, "id": 0}))
            assert json.loads(self.ws.recv(10)) == {"id": 0, "result": {"authenticated": True}}
        self.ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
        assert json.loads(self.ws.recv(10)) == {"id": 1, "result": None}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # the test closes the socket at the end
            for raw in self.ws:
                with self.lock:
                    self.messages.append(json.loads(raw))
        self.closed = True

    def stream(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m["data"] for m in self.messages if m.get("stream") == name]

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def md(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    with django_db_blocker.unblock():
        stack = start_stack(tmp_path_factory)
        try:
            port = free_port()
            stack.start("publisher", manage("run_publisher"))
            ws = stack.start(
                "ws",
                [
                    str(Path(sys.executable).parent / "uvicorn"),
                    "exchange_site.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                ],
            )

            def ws_up() -> bool:
                if not ws.alive:
                    raise AssertionError(ws.tail())
                try:
                    return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code > 0
                except requests.RequestException:
                    return False

            wait_until(ws_up, timeout=30, what="uvicorn up")
            yield stack, f"ws://127.0.0.1:{port}/ws"
        finally:
            stop_stack(stack)


def get(stack: Stack, path: str, **params: Any) -> Any:
    resp = requests.get(f"{stack.base_url}/api/v1/{path}", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def random_flow(trader: Trader, seed: int, orders: int) -> None:
    """Seeded limit/IOC/market orders and cancels around 20.00."""
    rng = random.Random(seed)
    mine: list[int] = []
    for _ in range(orders):
        roll = rng.random()
        if roll < 0.12 and mine:
            trader.api.delete(
                "/api/v1/order", symbol=SYMBOL, order_id=mine.pop(rng.randrange(len(mine)))
            )
            continue
        side = rng.choice(["buy", "sell"])
        body: dict[str, Any] = {"symbol": SYMBOL, "side": side, "type": "limit"}
        body["quantity"] = f"{rng.randint(10, 200) / 100:.2f}"
        if roll < 0.22:
            body["type"] = "market"
        else:
            body["price"] = f"{rng.randint(1990, 2010) / 100:.2f}"
            body["time_in_force"] = "IOC" if roll < 0.3 else "GTC"
        resp = trader.api.post("/api/v1/order", body)
        assert resp.status_code in (201, 202, 400, 409, 422), resp.text
        if resp.status_code in (201, 202) and resp.json().get("status") in (
            "new",
            "partially_filled",
        ):
            mine.append(resp.json()["order_id"])


def apply_diffs(book: dict[str, Any], diffs: list[dict[str, Any]]) -> dict[str, Any]:
    """The documented client rule, on top of a REST snapshot."""
    last = book["last_update_id"]
    bids = dict(book["bids"])
    asks = dict(book["asks"])
    first = True
    for d in diffs:
        if d["u"] <= last:
            continue
        if first:
            assert d["U"] <= last + 1 <= d["u"], (d["U"], d["u"], last)
            first = False
        else:
            assert d["U"] == last + 1, "gap in the depth stream"
        for side, levels in ((bids, d["b"]), (asks, d["a"])):
            for price, qty in levels:
                if D(qty) == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        last = d["u"]
    return {
        "last_update_id": last,
        "bids": sorted(([p, q] for p, q in bids.items()), key=lambda lv: -D(lv[0])),
        "asks": sorted(([p, q] for p, q in asks.items()), key=lambda lv: D(lv[0])),
    }


def candles_from_trades(trades: list[Trade], interval: str) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for t in trades:
        start = open_time(interval, datetime_to_ms(t.executed_at))
        c = out.get(start)
        if c is None:
            out[start] = c = {
                "open": t.price, "high": t.price, "low": t.price, "close": t.price,
                "volume": D(0), "quote_volume": D(0), "trades": 0,
            }  # fmt: skip
        c["high"], c["low"], c["close"] = max(c["high"], t.price), min(c["low"], t.price), t.price
        c["volume"] += t.quantity
        c["quote_volume"] += t.quote_quantity
        c["trades"] += 1
    return out


def test_streams_agree_with_rest_and_postgres_when_random_flow_runs(md: tuple[Stack, str]) -> None:
    stack, url = md
    traders = [stack.funded(f"md{i}", SOL="500", USDC="20000") for i in range(3)]
    public = Feed(
        url,
        [f"depth.{SYMBOL}", f"trade.{SYMBOL}", f"ticker.{SYMBOL}", f"kline.1m.{SYMBOL}"],
    )
    private = [Feed(url, ["orders", "balances"], t) for t in traders[:2]]
    # a snapshot taken while orders flow, as a real client would
    warmup = [
        threading.Thread(target=random_flow, args=(t, 100 + i, 15)) for i, t in enumerate(traders)
    ]
    for th in warmup:
        th.start()
    time.sleep(0.3)
    snapshot = get(stack, "depth", symbol=SYMBOL, limit=1000)
    flow = [threading.Thread(target=random_flow, args=(t, i, 60)) for i, t in enumerate(traders)]
    for th in flow:
        th.start()
    for th in [*warmup, *flow]:
        th.join(120)
    stack.wait_settled()
    final = get(stack, "depth", symbol=SYMBOL, limit=1000)

    # then the book rebuilt from snapshot + diffs is exactly GET /depth
    wait_until(
        lambda: any(d["u"] == final["last_update_id"] for d in public.stream(f"depth.{SYMBOL}")),
        timeout=15,
        what="last depth diff delivered",
    )
    rebuilt = apply_diffs(snapshot, public.stream(f"depth.{SYMBOL}"))
    assert rebuilt == {k: final[k] for k in ("last_update_id", "bids", "asks")}

    # and every trade reached trade.<SYMBOL> exactly once, in order, as in Postgres
    market = Market.objects.get(symbol=SYMBOL)
    trades = list(Trade.objects.filter(market=market).order_by("trade_id"))
    assert len(trades) > 20
    wait_until(
        lambda: len(public.stream(f"trade.{SYMBOL}")) >= len(trades), timeout=15, what="trades"
    )
    streamed = public.stream(f"trade.{SYMBOL}")
    assert [m["t"] for m in streamed] == [t.trade_id for t in trades]
    assert [(D(m["p"]), D(m["q"]), m["m"]) for m in streamed] == [
        (t.price, t.quantity, t.taker_side == "sell") for t in trades
    ]

    # and klines (REST and the stream's latest) agree with the trades in Postgres
    for interval in ("1m", "1h", "1d"):
        expected = candles_from_trades(trades, interval)
        rest = {k["open_time"]: k for k in get(stack, "klines", symbol=SYMBOL, interval=interval)}
        assert set(rest) == set(expected)
        for start, c in expected.items():
            got = rest[start]
            assert {
                "open": D(got["open"]), "high": D(got["high"]), "low": D(got["low"]),
                "close": D(got["close"]), "volume": D(got["volume"]),
                "quote_volume": D(got["quote_volume"]), "trades": got["trades"],
            } == c  # fmt: skip
    last_1m = {}
    for m in public.stream(f"kline.1m.{SYMBOL}"):
        last_1m[m["k"]["t"]] = m["k"]
    for start, c in candles_from_trades(trades, "1m").items():
        k = last_1m[start]
        assert (D(k["o"]), D(k["h"]), D(k["l"]), D(k["c"]), D(k["v"]), k["n"]) == (
            c["open"], c["high"], c["low"], c["close"], c["volume"], c["trades"],
        )  # fmt: skip

    # and the 24 h ticker (REST and stream) agrees with them too
    ticker = get(stack, "tickers", symbol=SYMBOL)
    assert ticker["trades"] == len(trades)
    assert D(ticker["volume"]) == sum(t.quantity for t in trades)
    assert D(ticker["quote_volume"]) == sum(t.quote_quantity for t in trades)
    assert D(ticker["high"]) == max(t.price for t in trades)
    assert D(ticker["low"]) == min(t.price for t in trades)
    assert (D(ticker["open_price"]), D(ticker["last_price"])) == (trades[0].price, trades[-1].price)
    best_bid = final["bids"][0][0] if final["bids"] else None
    assert ticker["best_bid"] == best_bid

    def ws_ticker_caught_up() -> bool:
        got = public.stream(f"ticker.{SYMBOL}")
        return bool(got) and got[-1]["trades"] == len(trades) and got[-1]["best_bid"] == best_bid

    wait_until(ws_ticker_caught_up, timeout=10, what="ticker stream caught up")
    streamed_ticker = public.stream(f"ticker.{SYMBOL}")[-1]
    for field in ("volume", "quote_volume", "high", "low", "open_price", "last_price", "best_ask"):
        assert streamed_ticker[field] == ticker[field], field

    # and private streams carry each user's own orders and balances, nobody else's
    for trader, feed in zip(traders, private, strict=False):
        mine = {o.id: o for o in Order.objects.filter(user_id=trader.user_id)}
        others = set(Order.objects.exclude(user_id=trader.user_id).values_list("id", flat=True))

        def complete(feed: Feed = feed, mine: dict[int, Order] = mine) -> bool:
            seen = {m["order_id"] for m in feed.stream("orders")}
            return seen >= set(mine)

        wait_until(complete, timeout=15, what=f"orders of {trader.username} streamed")
        updates = feed.stream("orders")
        assert {m["order_id"] for m in updates} == set(mine)
        assert not {m["order_id"] for m in updates} & others
        final_status: dict[int, str] = {}
        for m in updates:
            if m["status"] is not None:
                final_status[m["order_id"]] = m["status"]
        assert final_status == {i: o.status for i, o in mine.items()}
        fills = [m["fill"]["trade_id"] for m in updates if m["fill"]]
        my_trades = Trade.objects.filter(market=market, maker_user_id=trader.user_id).count()
        my_trades += Trade.objects.filter(market=market, taker_user_id=trader.user_id).count()
        assert len(fills) == my_trades
        latest = {}
        for m in feed.stream("balances"):
            latest[m["asset"]] = (D(m["available"]), D(m["locked"]))
        rest = {
            b["asset"]: (D(b["available"]), D(b["locked"]))
            for b in trader.api.get("/api/v1/user/balances").json()
        }
        assert latest == {a: v for a, v in rest.items() if a in latest}
        assert set(latest) >= {"SOL", "USDC"}
    for feed in (public, *private):
        feed.close()


def test_private_streams_are_refused_when_not_authenticated(md: tuple[Stack, str]) -> None:
    _, url = md
    with ws_connect(url, compression=None) as ws:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["orders"], "id": 5}))
        reply = json.loads(ws.recv(10))
        assert reply["id"] == 5 and reply["error"]["code"] == "unauthenticated"
        ws.send("{oops")
        assert json.loads(ws.recv(10))["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"method": "PING", "id": 6}))
        assert json.loads(ws.recv(10)) == {"id": 6, "result": "pong"}


def test_compressed_and_plain_clients_get_the_same_frames_when_both_subscribe(
    md: tuple[Stack, str],
) -> None:
    stack, url = md
    plain = Feed(url, [f"trade.{SYMBOL}"])
    deflate_ws = ws_connect(url)  # negotiates permessage-deflate: the ASGI send path
    deflate_ws.send(json.dumps({"method": "SUBSCRIBE", "params": [f"trade.{SYMBOL}"], "id": 1}))
    assert json.loads(deflate_ws.recv(10))["result"] is None
    maker = stack.funded("mdmaker", SOL="10")
    taker = stack.funded("mdtaker", USDC="1000")
    resp = maker.api.post(
        "/api/v1/order",
        {"symbol": SYMBOL, "side": "sell", "type": "limit", "price": "30.00", "quantity": "1"},
    )
    assert resp.status_code == 201, resp.text
    resp = taker.api.post(
        "/api/v1/order", {"symbol": SYMBOL, "side": "buy", "type": "market", "quantity": "1"}
    )
    assert resp.status_code == 201, resp.text
    got = json.loads(deflate_ws.recv(10))
    wait_until(lambda: plain.stream(f"trade.{SYMBOL}"), timeout=10, what="plain trade")
    assert got["data"] == plain.stream(f"trade.{SYMBOL}")[0]
    deflate_ws.close()
    plain.close()


def test_candles_and_ticker_stay_exact_when_the_publisher_is_killed_and_restarted(
    md: tuple[Stack, str],
) -> None:
    stack, url = md
    traders = [stack.funded(f"mdr{i}", SOL="500", USDC="20000") for i in range(2)]
    feed = Feed(url, [f"ticker.{SYMBOL}", f"kline.1h.{SYMBOL}", f"trade.{SYMBOL}"])
    flows = [
        threading.Thread(target=random_flow, args=(t, 50 + i, 40)) for i, t in enumerate(traders)
    ]
    for th in flows:
        th.start()
    time.sleep(1.0)
    stack.kill_and_restart("publisher")  # SIGKILL mid-flow: pending entries are redelivered
    for th in flows:
        th.join(120)
    stack.wait_settled()
    market = Market.objects.get(symbol=SYMBOL)
    trades = list(Trade.objects.filter(market=market).order_by("trade_id"))
    hour = candles_from_trades(trades, "1h")

    def caught_up() -> bool:
        ticks = feed.stream(f"ticker.{SYMBOL}")
        return bool(ticks) and ticks[-1]["trades"] == len(trades)

    wait_until(caught_up, timeout=20, what="ticker after the restart")
    ticker = feed.stream(f"ticker.{SYMBOL}")[-1]
    assert D(ticker["volume"]) == sum(t.quantity for t in trades)
    latest = {m["k"]["t"]: m["k"] for m in feed.stream(f"kline.1h.{SYMBOL}")}
    current = max(hour)
    k = latest[current]
    assert (D(k["v"]), k["n"], D(k["c"])) == (
        hour[current]["volume"], hour[current]["trades"], hour[current]["close"],
    )  # fmt: skip
    # the stream may repeat a trade the dead publisher had sent but not acked; never skip one
    seen = [m["t"] for m in feed.stream(f"trade.{SYMBOL}")]
    assert set(seen) >= {t.trade_id for t in trades if t.trade_id > min(seen)}
    feed.close()


def test_a_client_that_stops_reading_is_closed_4008_and_never_delays_others(
    md: tuple[Stack, str],
) -> None:
    stack, _ = md
    # a second server with a tiny per-client queue, on the same Redis
    port = free_port()
    env = {**stack.env, "MARKETDATA_WS_SEND_QUEUE": "20"}
    argv = [
        str(Path(sys.executable).parent / "uvicorn"), "exchange_site.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
    ]  # fmt: skip
    server = Proc("ws-small-queue", argv, env, stack.log_dir).start()
    try:
        url = f"ws://127.0.0.1:{port}/ws"

        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code > 0
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, what="second uvicorn")
        stalled = ws_connect(url, compression=None, max_size=None)
        stalled.send(json.dumps({"method": "SUBSCRIBE", "params": [f"trade.{SYMBOL}"], "id": 1}))
        assert json.loads(stalled.recv(10))["result"] is None
        reader = Feed(url, [f"trade.{SYMBOL}"])
        # then publish big frames the stalled client never reads: 24 MB, more than the loopback
        # socket buffers can absorb
        client = redis.Redis.from_url(stack.env["REDIS_URL"])
        channel = f"{prefix_for(stack.env['REDIS_URL'])}trade.{SYMBOL}"
        pad = "x" * 60_000
        started = time.monotonic()
        for i in range(400):
            client.publish(
                channel, json.dumps({"stream": f"trade.{SYMBOL}", "data": {"t": i, "pad": pad}})
            )
        wait_until(
            lambda: len(reader.stream(f"trade.{SYMBOL}")) == 400, timeout=30, what="reader got all"
        )
        assert time.monotonic() - started < 10  # the stalled client held nobody up
        assert [m["t"] for m in reader.stream(f"trade.{SYMBOL}")] == list(range(400))
        # and the stalled client, once it reads, finds the 4008 close after what was buffered
        with contextlib.suppress(Exception):
            while True:
                stalled.recv(10)
        assert stalled.close_code == 4008
        reader.close()
    finally:
        server.stop()
