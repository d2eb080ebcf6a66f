"""The load the benchmark offers: the orders it sends, and its closed and open loops (one thread
per client key, in each load-generator process)."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any
from urllib.parse import urlencode

from e2e.client import Key, Signed

SYMBOL = "SOL_USDC"
CANCEL_ALL = 10_000  # added to a cancel-all's status in the open loop's rows


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
