"""End-to-end order benchmark against a running stack. Prints its figures; not a test.

Start the stack (Postgres + Redis, high throttles so the limiter is not what is measured):

    THROTTLE_ORDERS=10000000/min THROTTLE_USER=10000000/min THROTTLE_SIGNUP=100000/min \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench \\
    REDIS_URL=redis://127.0.0.1:6379/2 ./scripts/run

then, in another shell:

    .venv/bin/python bench/e2e_orders.py --base-url http://127.0.0.1:8000

Phases, all in one run against the same stack:
1. trivial: closed loop, C clients, signed ``GET /api/v1/account`` (auth + a tiny response), on
   ``--baseline-url`` when given (bench/stack.sh serves it from gunicorn WSGI with gthread
   workers, the same number of processes and threads, beside the stack: issue 4's baseline),
   then on the stack's own REST server (granian) too.
2. orders: closed loop, C clients, signed ``POST /api/v1/order`` with a mix that trades;
   only 201 answers (the matcher's result) count as acknowledged orders.
3. sustained: open loop at R orders/s for S seconds; latency is measured from each order's
   scheduled send time (no coordinated omission); matcher and persister lag sampled each second.

4. compat (issue 20): the closed loop of phase 2 through the Binance-compatible surface
   (``POST /api/v3/order``, ``DELETE /api/v3/openOrders``, signed as Binance signs), alternated
   with the native path in the same run (``--compat-rounds`` pairs, native first): CPU per
   acknowledged order of both paths, every process and the REST server's share, and their
   ratio (target: the compatible path at most 10 % dearer).
5. reads (``--only reads``, or ``--reads``): the open loop of phase 3 at ``--rate`` orders/s,
   and beside it, in open loops too (latency from each request's scheduled time):
   ``--readers`` traders that only read, ``--read-rate`` reads/s in all,
   ``GET /api/v1/orders?symbol=...`` and ``GET /api/v1/user/balances`` in turn (nothing they
   did or that was done to them is outstanding); and ``--pairs`` maker/taker pairs in
   ETH_USDC, ``--pair-rate`` cycles/s in all: the maker rests a buy, the taker's sell fills it,
   and the maker reads the order at once (issue 14: that read must show the fill; the bench
   counts the reads that did not). Compare builds A B A B in the same minutes.

In phases 2 and 3 each client cancels all its orders every N orders (``--cancel-every``). By
default every client starts at the same phase, so in the open loop all C clients cancel within
one send interval of each other: a burst of C cancel-alls every N / (R / C) seconds, the
harder case. ``--cancel-spread`` gives each client its own phase instead (its first cancel-all
after a random 1..N orders), as independent traders would.

The load generator runs on the same 2 cores as the stack; its CPU is part of what is measured,
equally for phases 1 and 2. The machine's own speed is printed first (bench/machine.py): a
probe before, between and after the phases, and the idle and stolen CPU during each phase.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing as mp
import random
import secrets
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import cpu_split
import machine
import requests

SYMBOL = "SOL_USDC"
CANCEL_ALL = 10_000  # added to a cancel-all's status in the open loop's rows


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


def order_body(rng: random.Random) -> dict[str, Any]:
    side = "buy" if rng.random() < 0.5 else "sell"
    # Around a mid of 100 with a spread of a few ticks: about half the orders cross.
    offset = rng.randint(-5, 5) * 0.01
    price = f"{100 + (offset if side == 'buy' else -offset):.2f}"
    return {
        "symbol": SYMBOL,
        "side": side,
        "type": "limit",
        "price": price,
        "quantity": f"{rng.randint(2, 20) / 100:.2f}",  # >= the 1 USDC minimum notional
        "time_in_force": "IOC" if rng.random() < 0.1 else "GTC",
    }


def binance_order(rng: random.Random) -> dict[str, str]:
    """``order_body``'s order as Binance's parameters (same draws, same mix)."""
    body = order_body(rng)
    return {
        "symbol": SYMBOL.replace("_", ""),
        "side": body["side"].upper(),
        "type": "LIMIT",
        "timeInForce": body["time_in_force"],
        "price": body["price"],
        "quantity": body["quantity"],
    }


def first_count(rng: random.Random, cancel_every: int, spread: bool) -> int:
    """Orders a client counts as already sent: 0 (every client in step), or with ``spread`` a
    random 0..N-1, so that its first cancel-all comes after a random 1..N orders."""
    if not cancel_every or not spread:
        return 0
    return rng.randrange(cancel_every)


def closed_loop(args: tuple[str, list[Key], str, float, int, bool, int, Any]) -> dict[str, Any]:
    base_url, keys, kind, duration, cancel_every, spread, seed, start_at = args

    def worker(key: Key, n: int) -> list[tuple[int, float, float]]:
        rng = random.Random(seed * 1000 + n)
        client = Signed(base_url, key)
        local: list[tuple[int, float, float]] = []
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + duration
        sent = first_count(rng, cancel_every, spread)
        while time.time() < end:
            t0 = time.perf_counter()
            if kind == "trivial":
                status, _ = client.call("GET", "/api/v1/account")
            elif kind == "orders-v3":
                status, _ = client.call_binance("POST", "/api/v3/order", binance_order(rng))
                sent += 1
                if cancel_every and sent % cancel_every == 0:
                    symbol = SYMBOL.replace("_", "")
                    client.call_binance("DELETE", "/api/v3/openOrders", {"symbol": symbol})
            else:
                status, _ = client.call("POST", "/api/v1/order", order_body(rng))
                sent += 1
                if cancel_every and sent % cancel_every == 0:
                    client.call("DELETE", "/api/v1/orders?" + urlencode({"symbol": SYMBOL}))
            local.append((status, time.perf_counter() - t0, time.time()))
        return local

    return {"results": _in_threads(keys, worker)}


def _in_threads(keys: list[Key], worker: Any) -> list[Any]:
    """One thread per client key; their (status, latency[, done at]) rows, concatenated."""
    rows: list[list[Any]] = [[] for _ in keys]

    def run(n: int, key: Key) -> None:
        rows[n] = worker(key, n)

    threads = [threading.Thread(target=run, args=(n, k)) for n, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [row for part in rows for row in part]


def open_loop(
    args: tuple[str, list[Key], float, float, int, int, bool, int, Any],
) -> dict[str, Any]:
    base_url, keys, rate, duration, all_clients, cancel_every, spread, seed, start_at = args
    per_thread = rate / all_clients  # the offered rate is shared by every client of every process

    def worker(key: Key, n: int) -> list[tuple[int, float]]:
        rng = random.Random(seed * 7919 + n)
        client = Signed(base_url, key)
        local: list[tuple[int, float]] = []
        interval = 1.0 / per_thread
        scheduled = start_at + rng.random() * interval
        end = start_at + duration
        sent = first_count(rng, cancel_every, spread)
        while scheduled < end:
            now = time.time()
            if now < scheduled:
                time.sleep(scheduled - now)
            status, _ = client.call("POST", "/api/v1/order", order_body(rng))
            local.append((status, time.time() - scheduled))  # from the scheduled time
            sent += 1
            if cancel_every and sent % cancel_every == 0:
                t0 = time.time()
                status, _ = client.call("DELETE", "/api/v1/orders?" + urlencode({"symbol": SYMBOL}))
                local.append((CANCEL_ALL + status, time.time() - t0))
            scheduled += interval
        return local

    return {"results": _in_threads(keys, worker)}


READ_PATHS = ("/api/v1/orders?" + urlencode({"symbol": SYMBOL}), "/api/v1/user/balances")


def read_loop(
    base_url: str,
    keys: list[Key],
    rate: float,
    duration: float,
    all_readers: int,
    seed: int,
    start_at: float,
) -> list[tuple[int, float]]:
    """Open loop of private reads: (status, latency from the scheduled time) per read."""
    per_thread = rate / all_readers

    def worker(key: Key, n: int) -> list[tuple[int, float]]:
        rng = random.Random(seed * 104729 + n)
        client = Signed(base_url, key)
        local: list[tuple[int, float]] = []
        interval = 1.0 / per_thread
        scheduled = start_at + rng.random() * interval
        end = start_at + duration
        i = rng.randrange(2)
        while scheduled < end:
            now = time.time()
            if now < scheduled:
                time.sleep(scheduled - now)
            status, _ = client.call("GET", READ_PATHS[i % 2])
            local.append((status, time.time() - scheduled))
            i += 1
            scheduled += interval
        return local

    return _in_threads(keys, worker)


PAIR_SYMBOL = "ETH_USDC"  # not the flow's market: a pair's orders only ever meet each other


def pair_loop(
    base_url: str,
    pairs: list[tuple[Key, Key]],
    rate: float,
    duration: float,
    all_pairs: int,
    seed: int,
    start_at: float,
) -> list[tuple[int, float, bool]]:
    """Open loop of fills read by their maker: the maker rests a buy, the taker's sell fills it
    (answered ``filled``), and the maker reads the order at once. Per cycle: (status of the
    maker's read, its latency, whether it still showed the order unfilled)."""
    per_pair = rate / all_pairs
    rows: list[list[tuple[int, float, bool]]] = [[] for _ in pairs]

    def worker(n: int, maker_key: Key, taker_key: Key) -> None:
        rng = random.Random(seed * 7727 + n)
        maker, taker = Signed(base_url, maker_key), Signed(base_url, taker_key)
        interval = 1.0 / per_pair
        scheduled = start_at + rng.random() * interval
        end = start_at + duration
        order = {"symbol": PAIR_SYMBOL, "type": "limit", "price": "2000", "quantity": "0.01"}
        while scheduled < end:
            now = time.time()
            if now < scheduled:
                time.sleep(scheduled - now)
            status, body = maker.call("POST", "/api/v1/order", {**order, "side": "buy"})
            if status != 201:
                rows[n].append((status, 0.0, False))
            else:
                order_id = json.loads(body)["order_id"]
                status, body = taker.call("POST", "/api/v1/order", {**order, "side": "sell"})
                filled = status == 201 and json.loads(body)["status"] == "filled"
                t0 = time.time()
                query = urlencode({"symbol": PAIR_SYMBOL, "order_id": order_id})
                status, body = maker.call("GET", "/api/v1/order?" + query)
                stale = filled and status == 200 and json.loads(body)["status"] != "filled"
                rows[n].append((status, time.time() - t0, stale))
            scheduled += interval

    threads = [
        threading.Thread(target=worker, args=(n, maker, taker))
        for n, (maker, taker) in enumerate(pairs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [row for part in rows for row in part]


def reads_phase(args: tuple[Any, ...]) -> dict[str, Any]:
    """Phase 4 in one load-generator process: its share of the order clients (the open loop),
    of the readers and of the maker/taker pairs, at once."""
    (base_url, order_keys, reader_keys, pair_keys, rate, read_rate, pair_rate, duration,
     n_clients, n_readers, n_pairs, cancel_every, spread, seed, start_at) = args  # fmt: skip
    out: dict[str, Any] = {}

    def orders() -> None:
        out["orders"] = open_loop(
            (base_url, order_keys, rate, duration, n_clients, cancel_every, spread, seed, start_at)
        )["results"]

    def fills() -> None:
        out["pairs"] = pair_loop(base_url, pair_keys, pair_rate, duration, n_pairs, seed, start_at)

    threads = [threading.Thread(target=orders), threading.Thread(target=fills)]
    for t in threads:
        t.start()
    reads = read_loop(base_url, reader_keys, read_rate, duration, n_readers, seed, start_at)
    for t in threads:
        t.join()
    return {"orders": out["orders"], "reads": reads, "pairs": out["pairs"]}


@dataclass
class CpuWindow:
    """CPU per role over the middle half of a closed-loop phase (bench/cpu_split.py)."""

    start: float = 0.0
    end: float = 0.0
    seconds: dict[str, float] | None = None
    idle_share: float = 0.0


def _sample_cpu(window: CpuWindow, start_at: float, duration: float) -> None:
    window.start, window.end = start_at + duration / 4, start_at + 3 * duration / 4
    time.sleep(max(0.0, window.start - time.time()))
    before, (idle0, _, total0) = cpu_split.sample(), cpu_split.cpu_ticks()
    time.sleep(max(0.0, window.end - time.time()))
    after, (idle1, _, total1) = cpu_split.sample(), cpu_split.cpu_ticks()
    window.seconds = cpu_split.split(before, after)
    window.idle_share = (idle1 - idle0) / max(1, total1 - total0)


def run_phase(
    pool: Any,
    fn: Any,
    keys: list[Key],
    procs: int,
    extra: tuple[Any, ...],
    cpu: CpuWindow | None = None,
) -> list:
    start_at = time.time() + 1.0
    sampler = None
    if cpu is not None:
        duration = extra[2]
        sampler = threading.Thread(target=_sample_cpu, args=(cpu, start_at, duration))
        sampler.start()
    chunks = [keys[i::procs] for i in range(procs)]
    outs = pool.map(
        fn, [(extra[0], chunk, *extra[1:], i, start_at) for i, chunk in enumerate(chunks)]
    )
    if sampler is not None:
        sampler.join()
    return [r for out in outs for r in out["results"]]


def cpu_report(name: str, rows: list[tuple[int, float, float]], ok: int, cpu: CpuWindow) -> None:
    """CPU per acknowledged request, per role, over the phase's middle half."""
    if not cpu.seconds:
        return
    done = sum(1 for status, _, at in rows if status == ok and cpu.start <= at < cpu.end)
    if not done:
        return
    print(
        f"CPU per {name} request ({done / (cpu.end - cpu.start):.0f}/s in the middle "
        f"{cpu.end - cpu.start:.0f} s, {cpu.idle_share * 100:.0f} % of the cores idle):"
    )
    print(cpu_split.report(cpu.seconds, done))


def cpu_per_order(
    rows: list[tuple[int, float, float]], ok: int, cpu: CpuWindow
) -> tuple[float, float, float]:
    """(acknowledged orders/s, CPU ms per order of every process, of the REST server) over
    the loop's middle half."""
    done = sum(1 for status, _, at in rows if status == ok and cpu.start <= at < cpu.end)
    if not done or not cpu.seconds:
        return 0.0, 0.0, 0.0
    web = sum(cpu.seconds.get(role, 0.0) for role in ("granian", "gunicorn"))
    return (
        done / (cpu.end - cpu.start),
        sum(cpu.seconds.values()) / done * 1000,
        web / done * 1000,
    )


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def sample_lag(base_url: str, stop: threading.Event, out: list[dict[str, Any]]) -> None:
    while not stop.is_set():
        try:
            data = requests.get(f"{base_url}/api/v1/health", timeout=5).json()
            out.append({"t": time.time(), **data})
        except requests.RequestException:
            pass
        stop.wait(1.0)


@contextmanager
def sampling_lag(base_url: str, out: list[dict[str, Any]]) -> Iterator[None]:
    """Sample GET /api/v1/health once a second into ``out`` while the block runs."""
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lag, args=(base_url, stop, out))
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


def lag_rows(samples: list[dict[str, Any]]) -> list[tuple[float, int, int, int]]:
    """(time, persister lag in events, matcher seq, matcher lag in commands) per shard per
    sample; the matcher's lag is its commands not yet applied (delivered or not)."""
    return [
        (
            s["t"],
            shard.get("persister_lag", 0),
            shard.get("seq", 0),
            shard.get("matcher_lag", 0),
        )
        for s in samples
        for shard in ((s.get("checks") or {}).get("shards") or {}).values()
    ]


def lag_summary(rows: list[tuple[float, int, int, int]]) -> str:
    """The matcher's lag over the samples: its max and mean."""
    values = [lg for _, _, _, lg in rows] or [0]
    return f"max {max(values)}, mean {statistics.mean(values):.1f} (one sample a second)"


def wait_caught_up(base_url: str, timeout_s: float = 120.0) -> float:
    """Seconds until every shard's persister lag is 0 (``timeout_s`` if it never is)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        rows = lag_rows([{"t": 0, **requests.get(f"{base_url}/api/v1/health", timeout=5).json()}])
        if rows and all(lag == 0 for _, lag, _, _ in rows):
            break
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--baseline-url",
        help="a gunicorn gthread server of the same stack for the trivial baseline "
        "(bench/stack.sh: PORT + 2); without it the baseline is the base URL's server",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--procs", type=int, default=4, help="load-generator processes")
    parser.add_argument("--duration", type=float, default=15.0, help="closed-loop seconds")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop orders/s")
    parser.add_argument(
        "--sustain", type=float, default=60.0, help="open-loop seconds (0: no open loop)"
    )
    parser.add_argument(
        "--cancel-every",
        type=int,
        default=50,
        help="each client cancels all its orders after this many (0: never)",
    )
    parser.add_argument(
        "--cancel-spread",
        action="store_true",
        help="each client at its own cancel phase (default: all in step, bursts of cancel-alls)",
    )
    parser.add_argument(
        "--only",
        choices=("trivial", "orders", "compat", "sustained", "reads"),
        help="run one phase (for profiling); the ratio needs both closed-loop phases",
    )
    parser.add_argument(
        "--compat-rounds",
        type=int,
        default=2,
        help="pairs of closed loops, native then /api/v3, for the compatible path's CPU (0: none)",
    )
    parser.add_argument("--reads", action="store_true", help="run the reads phase too")
    parser.add_argument("--readers", type=int, default=16, help="reads phase: reading traders")
    parser.add_argument(
        "--read-rate", type=float, default=100.0, help="reads phase: private reads/s in all"
    )
    parser.add_argument("--reads-duration", type=float, default=30.0, help="reads phase: seconds")
    parser.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="reads phase: maker/taker pairs reading their fills (more than one in the same"
        " market may fill each other's makers, which then read their orders unfilled, rightly)",
    )
    parser.add_argument(
        "--pair-rate", type=float, default=10.0, help="reads phase: fills read by makers/s in all"
    )
    args = parser.parse_args()

    run_id = str(int(time.time()))
    wanted = {args.only} if args.only else {"trivial", "orders", "compat", "sustained"}
    if args.reads:
        wanted.add("reads")
    readers_n = args.readers if "reads" in wanted else 0
    pairs_n = args.pairs if "reads" in wanted else 0
    print(f"setting up {args.clients + readers_n + 2 * pairs_n} funded traders ...", flush=True)
    everyone = setup_traders(args.base_url, args.clients + readers_n + 2 * pairs_n, run_id)
    keys = everyone[: args.clients]
    readers = everyone[args.clients : args.clients + readers_n]
    paired = everyone[args.clients + readers_n :]
    pairs = list(zip(paired[0::2], paired[1::2], strict=True))
    probes = [machine.probe_ms()]
    shares: dict[str, machine.CpuShares] = {}
    ctx = mp.get_context("fork")
    trivial: list[tuple[int, float, float]] = []
    trivial_here: list[tuple[int, float, float]] = []  # on base_url, when the baseline is apart
    orders: list[tuple[int, float, float]] = []
    trivial_cpu, trivial_here_cpu, orders_cpu = CpuWindow(), CpuWindow(), CpuWindow()
    sustained: list[tuple[int, float]] = []
    mixed_orders: list[tuple[int, float]] = []
    mixed_reads: list[tuple[int, float]] = []
    mixed_pairs: list[tuple[int, float, bool]] = []
    mixed_lag: list[dict[str, Any]] = []
    lag: list[dict[str, Any]] = []
    burst_lag: list[dict[str, Any]] = []
    caught_up_s = 0.0
    with ctx.Pool(args.procs) as pool:
        if "trivial" in wanted:
            print("phase: trivial", flush=True)
            shares["trivial"] = machine.CpuShares().start()
            trivial = run_phase(
                pool,
                closed_loop,
                keys,
                args.procs,
                (args.baseline_url or args.base_url, "trivial", args.duration, 0, False),
                trivial_cpu,
            )
            shares["trivial"].stop()
            if args.baseline_url:
                print("phase: trivial on the stack's own server", flush=True)
                shares["trivial@"] = machine.CpuShares().start()
                trivial_here = run_phase(
                    pool,
                    closed_loop,
                    keys,
                    args.procs,
                    (args.base_url, "trivial", args.duration, 0, False),
                    trivial_here_cpu,
                )
                shares["trivial@"].stop()
        if "orders" in wanted:
            print("phase: orders", flush=True)
            shares["orders"] = machine.CpuShares().start()
            with sampling_lag(args.base_url, burst_lag):
                orders = run_phase(
                    pool,
                    closed_loop,
                    keys,
                    args.procs,
                    (
                        args.base_url,
                        "orders",
                        args.duration,
                        args.cancel_every,
                        args.cancel_spread,
                    ),
                    orders_cpu,
                )
            shares["orders"].stop()
            # The persister may trail a closed-loop burst; the open loop starts from no backlog.
            caught_up_s = wait_caught_up(args.base_url)
            probes.append(machine.probe_ms())
        # (path, orders/s, CPU ms per order, REST server's ms, idle share of the cores)
        compat: list[tuple[str, float, float, float, float]] = []
        if "compat" in wanted and args.compat_rounds > 0:
            for n in range(args.compat_rounds):
                for kind, ok in (("orders", 201), ("orders-v3", 200)):
                    print(f"phase: compat {n + 1}/{args.compat_rounds}: {kind}", flush=True)
                    window = CpuWindow()
                    rows = run_phase(
                        pool,
                        closed_loop,
                        keys,
                        args.procs,
                        (
                            args.base_url,
                            kind,
                            args.duration,
                            args.cancel_every,
                            args.cancel_spread,
                        ),
                        window,
                    )
                    compat.append((kind, *cpu_per_order(rows, ok, window), window.idle_share))
                    wait_caught_up(args.base_url)
            probes.append(machine.probe_ms())
        if "sustained" in wanted and args.sustain > 0:
            print("phase: sustained", flush=True)
            shares["sustained"] = machine.CpuShares().start()
            with sampling_lag(args.base_url, lag):
                sustained = run_phase(
                    pool,
                    open_loop,
                    keys,
                    args.procs,
                    (
                        args.base_url,
                        args.rate,
                        args.sustain,
                        len(keys),
                        args.cancel_every,
                        args.cancel_spread,
                    ),
                )
            shares["sustained"].stop()
            probes.append(machine.probe_ms())
        if "reads" in wanted:
            wait_caught_up(args.base_url)
            print("phase: reads", flush=True)
            shares["reads"] = machine.CpuShares().start()
            start_at = time.time() + 1.0
            jobs = [
                (
                    args.base_url,
                    keys[i :: args.procs],
                    readers[i :: args.procs],
                    pairs[i :: args.procs],
                    args.rate,
                    args.read_rate,
                    args.pair_rate,
                    args.reads_duration,
                    len(keys),
                    len(readers),
                    len(pairs),
                    args.cancel_every,
                    args.cancel_spread,
                    i,
                    start_at,
                )
                for i in range(args.procs)
            ]
            with sampling_lag(args.base_url, mixed_lag):
                outs = pool.map(reads_phase, jobs)
            shares["reads"].stop()
            mixed_orders = [r for out in outs for r in out["orders"]]
            mixed_reads = [r for out in outs for r in out["reads"]]
            mixed_pairs = [r for out in outs for r in out["pairs"]]
            probes.append(machine.probe_ms())

    def summary(name: str, rows: list[Any], seconds: float, ok: int = 200) -> float:
        good = [row[1] for row in rows if row[0] == ok]
        codes: dict[int, int] = {}
        for status, *_ in rows:
            codes[status] = codes.get(status, 0) + 1
        rate = len(good) / seconds
        print(
            f"{name:<10} {rate:9.0f}/s ok  p50 {pct(good, 50) * 1000:7.2f} ms"
            f"  p99 {pct(good, 99) * 1000:7.2f} ms  p99.9 {pct(good, 99.9) * 1000:7.2f} ms"
            f"  statuses {dict(sorted(codes.items()))}"
        )
        return rate

    # The machine's speed moves within minutes (bench/machine.py): the figures below are
    # comparable only with runs at a similar probe.
    print(
        "\nmachine: probe "
        + " -> ".join(f"{ms:.0f}" for ms in probes)
        + " ms (a fixed Python loop before, between and after the phases; lower is faster)"
    )
    for name, share in shares.items():
        print(f"  during {name}: {share}")
    print(f"\nclients {args.clients} in {args.procs} processes; closed loop {args.duration:.0f} s")
    if args.baseline_url:
        print(f"trivial: baseline {args.baseline_url}, then the stack's {args.base_url}")
    t_rate = summary("trivial", trivial, args.duration, 200) if trivial else 0.0
    h_rate = summary("trivial@", trivial_here, args.duration, 200) if trivial_here else 0.0
    o_rate = summary("orders", orders, args.duration, 201) if orders else 0.0
    if t_rate and o_rate:
        print(f"ratio orders/trivial: {o_rate / t_rate:.2f} (target >= 0.5)")
    if h_rate and o_rate:
        print(f"ratio orders/trivial on the stack's own server: {o_rate / h_rate:.2f}")
    cpu_report("trivial", trivial, 200, trivial_cpu)
    cpu_report("trivial@", trivial_here, 200, trivial_here_cpu)
    cpu_report("order", orders, 201, orders_cpu)
    if burst_lag:
        burst_rows = lag_rows(burst_lag)
        values = [lg for _, lg, _, _ in burst_rows]
        print(
            f"persister lag (events) in the orders phase: max {max(values or [0])}; "
            f"back to 0 {caught_up_s:.1f} s after it"
        )
        print(f"matcher lag (commands) in the orders phase: {lag_summary(burst_rows)}")
    if compat:
        print(
            "\nnative (POST /api/v1/order) against compatible (POST /api/v3/order), alternated,"
            f" {args.duration:.0f} s each; CPU per acknowledged order over each loop's middle half"
        )
        for kind, rate, total_ms, web_ms, idle in compat:
            name = "native" if kind == "orders" else "compat"
            print(
                f"  {name:<7} {rate:7.0f} orders/s   every process {total_ms:6.3f} ms"
                f"   REST server {web_ms:6.3f} ms   cores idle {idle * 100:3.0f} %"
            )
        native = [c for c in compat if c[0] == "orders"]
        v3 = [c for c in compat if c[0] == "orders-v3"]
        ratios = [b[2] / a[2] for a, b in zip(native, v3, strict=True) if a[2]]
        web_ratios = [b[3] / a[3] for a, b in zip(native, v3, strict=True) if a[3]]
        if ratios:
            print(
                "  compat / native CPU per order, each pair: "
                + ", ".join(f"{r:.3f}" for r in ratios)
                + f" (median {statistics.median(ratios):.3f}; REST server alone "
                + ", ".join(f"{r:.3f}" for r in web_ratios)
                + "; target <= 1.10)"
            )
    if mixed_reads:
        print(
            f"\nreads phase: {args.rate:.0f} orders/s offered by {len(keys)} clients and "
            f"{args.read_rate:.0f} private reads/s by {len(readers)} other traders (no orders "
            f"of their own), {args.reads_duration:.0f} s"
        )
        summary("orders", [r for r in mixed_orders if r[0] < CANCEL_ALL], args.reads_duration, 201)
        summary("reads", mixed_reads, args.reads_duration, 200)
        if mixed_pairs:
            print(
                f"and {args.pair_rate:.0f} fills/s in {PAIR_SYMBOL} by {len(pairs)} maker/taker "
                "pairs, each read by its maker right after the taker was answered `filled`:"
            )
            summary("maker read", [r[:2] for r in mixed_pairs], args.reads_duration, 200)
            stale = sum(1 for r in mixed_pairs if r[2])
            print(
                f"maker reads that still showed the order unfilled: {stale} of {len(mixed_pairs)}"
            )
        values = [lg for _, lg, _, _ in lag_rows(mixed_lag)] or [0]
        print(f"persister lag (events) in the reads phase: max {max(values)}, "
              f"mean {statistics.mean(values):.0f}")  # fmt: skip
    if not sustained:
        return
    cancels_how = (
        f"a cancel-all every {args.cancel_every} orders per client"
        + (", each at its own phase" if args.cancel_spread else ", every client in step")
        if args.cancel_every
        else "no cancels"
    )
    print(f"\nopen loop: {args.rate:.0f} orders/s offered for {args.sustain:.0f} s; {cancels_how}")
    summary("sustained", [r for r in sustained if r[0] < CANCEL_ALL], args.sustain, 201)
    # Every --cancel-every orders a client cancels all its orders before its next one: that wait
    # delays the next order, and shows in its latency.
    cancels = [(status - CANCEL_ALL, lat) for status, lat in sustained if status >= CANCEL_ALL]
    summary("cancel-all", cancels, args.sustain, 200)
    lags = lag_rows(lag)
    if lags:
        values = [lg for _, lg, _, _ in lags]
        half = len(values) // 2
        print(
            f"persister lag (events): max {max(values)}, mean first half "
            f"{statistics.mean(values[:half] or [0]):.0f}, mean second half "
            f"{statistics.mean(values[half:] or [0]):.0f}, last {values[-1]}"
        )
        print(f"matcher lag (commands): {lag_summary(lags)}")
        seqs = [s for _, _, s, _ in lags]
        print(f"matcher events in sustained phase: {seqs[-1] - seqs[0]}")
    else:
        print("no health samples (GET /api/v1/health failed)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
