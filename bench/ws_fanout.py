"""WebSocket fan-out benchmark: K clients on ``trade.<SYMBOL>`` and ``depth.<SYMBOL>`` while
trades flow. Prints its figures; not a test.

Needs a running stack on one database/Redis: matcher, persister, ``run_publisher`` and uvicorn
(``exchange_site.asgi``), e.g. ``./scripts/run`` or the processes by hand (docs/performance.md,
"Market data"). Then:

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/ws_fanout.py \\
        --ws ws://127.0.0.1:8001/ws --clients 1000 --rate 100 --duration 30

Load: commands are appended straight to the shard's command stream (``CommandLog``, no REST):
one maker keeps a large resting sell at a fixed price and a taker sends a 100-lot IOC buy (above
the minimum notional) every 1/rate s, so each command makes exactly one trade and one book
change (one ``trade`` and one ``depth`` message per client). This keeps the load generator
cheap; it still shares the cores.

Clients: a minimal asyncio WebSocket client (no compression, pongs the server's pings),
spread over ``--procs`` processes. Every client checks every trade id and depth update id;
latency is recorded for every trade on one client in ``--latency-every`` (default 10).
Latency = arrival time at the client - the trade's ``T``
(the command's timestamp, ms) so it includes matcher, publisher, Redis and the ASGI server.
Missed = trade ids produced during the run that a connected client never received.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import multiprocessing as mp
import os
import re
import secrets
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOL = "SOL_USDC"
TRADE_ID_RE = re.compile(rb'"e":"trade","E":\d+,"s":"[A-Z0-9_]+","t":(\d+)')
TRADE_TIME_RE = re.compile(rb'"T":(\d+),"m"')
DEPTH_RE = re.compile(rb'"e":"depth","E":\d+,"s":"[A-Z0-9_]+","U":(\d+),"u":(\d+)')
HIST_MS = 10_000


def _mask(payload: bytes, opcode: int) -> bytes:
    key = secrets.token_bytes(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


class Client(asyncio.Protocol):
    def __init__(
        self, host: str, path: str, streams: list[str], stats: Stats, sample_latency: bool
    ) -> None:
        self.host, self.path, self.streams, self.stats = host, path, streams, stats
        self.sample_latency = sample_latency
        self.buf = bytearray()
        self.open = False
        self.trades: list[int] = []
        self.depth_last = 0
        self.depth_gaps = 0
        self.closed_code: int | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in bytes(buf[:end]):
                self.closed_code = -1
                return
            del buf[: end + 4]
            self.open = True
            sub = f'{{"method":"SUBSCRIBE","params":{self.streams!r},"id":1}}'.replace("'", '"')
            assert self.transport is not None
            self.transport.write(_mask(sub.encode(), 1))
        # Cheap on purpose (the clients share the cores with the server): no per-frame header
        # walk, C-level regex scans over the complete messages received so far (JSON text
        # never contains frame-header bytes that would fake a match; a message ends in "}}").
        # Every client checks every trade id and depth update id; latency is sampled on every
        # trade of one client in ``latency_every``.
        end = buf.rfind(b"}}") + 2
        if end >= 2:
            chunk = bytes(buf[:end])
            del buf[:end]
            ids = TRADE_ID_RE.findall(chunk)
            self.trades.extend(map(int, ids))
            stats = self.stats
            stats.messages += len(ids)
            if self.sample_latency and ids:
                now = time.time_ns() // 1_000_000
                hist = stats.hist
                for t in map(int, TRADE_TIME_RE.findall(chunk)):
                    lat = now - t
                    hist[lat if 0 <= lat < HIST_MS else (0 if lat < 0 else HIST_MS - 1)] += 1
            updates = DEPTH_RE.findall(chunk)
            stats.messages += len(updates)
            last = self.depth_last
            for first, u in updates:
                if last and int(first) != last + 1:
                    self.depth_gaps += 1
                last = int(u)
            self.depth_last = last
        if b"\x89\x04" in buf and self.transport is not None:  # the server's keepalive ping
            i = buf.index(b"\x89\x04")
            self.transport.write(_mask(bytes(buf[i + 2 : i + 6]), 0xA))
            del buf[i : i + 6]
        if buf[:1] == b"\x88" and len(buf) >= 4 and self.closed_code is None:  # close frame
            self.closed_code = int.from_bytes(buf[2:4], "big")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed_code is None:
            self.closed_code = 1006


class Stats:
    def __init__(self) -> None:
        self.hist = [0] * HIST_MS
        self.messages = 0


async def _clients(
    url: str, n: int, combined: bool, latency_every: int, conn: mp.connection.Connection
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/ws") + ("?combined=1" if combined else "")
    stats = Stats()
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    streams = [f"trade.{SYMBOL}", f"depth.{SYMBOL}"]
    for i in range(n):
        sample = i % latency_every == 0
        _, client = await loop.create_connection(
            lambda s=sample: Client(f"{host}:{port}", path, streams, stats, s), host, port
        )
        clients.append(client)
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    while not all(c.open or c.closed_code for c in clients):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    conn.send("ready")
    # Measure only from "go": forget what arrived while the others connected.
    await loop.run_in_executor(None, conn.recv)
    stats.hist = [0] * HIST_MS
    stats.messages = 0
    for c in clients:
        c.trades.clear()
    started, cpu = time.monotonic(), time.process_time()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    conn.send(
        {
            "hist": stats.hist,
            "messages": stats.messages,
            "elapsed": elapsed,
            "cpu": cpu,
            "trades": [c.trades for c in clients],
            "depth_gaps": sum(c.depth_gaps for c in clients),
            "closed": [c.closed_code for c in clients if c.closed_code is not None],
        }
    )


def _client_proc(
    url: str, n: int, combined: bool, latency_every: int, conn: mp.connection.Connection
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_clients(url, n, combined, latency_every, conn))


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
    import django

    django.setup()


def _bench_users() -> tuple[int, int]:
    from accounts.models import User

    ids = []
    for name in ("bench-fanout-maker", "bench-fanout-taker"):
        user, _ = User.objects.get_or_create(username=name)
        ids.append(user.pk)
    return ids[0], ids[1]


class Load:
    """Commands straight into the owning shard's log: one maker sell, IOC taker buys."""

    def __init__(self, price: int, maker: int, taker: int) -> None:
        from django.conf import settings

        from pipeline.client import shard_map
        from pipeline.transport import CommandLog
        from pipeline.wire import connect
        from trading.ids import next_order_id

        self.log = CommandLog(connect(settings.REDIS_URL))
        self.shard = shard_map().for_market(SYMBOL)
        self.price, self.maker, self.taker = price, maker, taker
        self.next_id = next_order_id
        self.left = 0

    def _send(self, cmd: object) -> None:
        self.log.submit(self.shard, cmd, wait_s=0)  # type: ignore[arg-type]

    def fund(self) -> None:
        from matching.commands import Deposit

        for account, asset, amount in (
            (self.maker, "SOL", 10**9 * 10**9),
            (self.taker, "USDC", 10**9 * 10**6),
        ):
            self._send(
                Deposit(uuid.uuid4().hex, time.time_ns(), uuid.uuid4().hex, account, asset, amount)
            )

    def _place(self, account: int, side: str, tif: str, lots: int) -> None:
        from matching.commands import PlaceOrder
        from matching.types import OrderType, Side, StpMode, TimeInForce

        self._send(
            PlaceOrder(
                uuid.uuid4().hex,
                time.time_ns(),
                self.next_id(),
                account,
                SYMBOL,
                Side(side),
                OrderType.LIMIT,
                TimeInForce(tif),
                self.price,
                lots,
                None,
                False,
                StpMode.EXPIRE_TAKER,
                None,
            )
        )

    def trade(self, lots: int = 100) -> None:
        if self.left < lots:
            self._place(self.maker, "sell", "GTC", 10_000_000)
            self.left = 10_000_000
        self._place(self.taker, "buy", "IOC", lots)
        self.left -= lots


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--ws", default="ws://127.0.0.1:8001/ws")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--rate", type=float, default=100.0, help="trades per second")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--combined", action="store_true", help="opt-in combined frames")
    parser.add_argument(
        "--latency-every", type=int, default=10, help="sample latency on 1 client in N"
    )
    parser.add_argument("--price", type=int, default=2000, help="price in ticks")
    parser.add_argument(
        "--pids", default="", help="comma-separated server pids whose CPU time to report"
    )
    args = parser.parse_args()
    _setup_django()
    maker, taker = _bench_users()
    load = Load(args.price, maker, taker)
    load.fund()

    pipes, procs = [], []
    per = [args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)]
    for n in per:
        parent, child = mp.Pipe()
        proc = mp.Process(
            target=_client_proc,
            args=(args.ws, n, args.combined, args.latency_every, child),
            daemon=True,
        )
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for p in pipes:
        assert p.recv() == "ready"
    pids = [int(p) for p in args.pids.split(",") if p]
    cpu_before = {pid: _cpu_s(pid) for pid in pids}
    for p in pipes:
        p.send("go")
    print(f"{args.clients} clients connected; {args.rate:g} trades/s for {args.duration:g} s")
    period = 1.0 / args.rate
    sent = 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < args.duration:
        due = int(elapsed / period) + 1
        while sent < due:
            load.trade()
            sent += 1
        time.sleep(max(0.0, start + sent * period - time.monotonic()))
    time.sleep(3.0)  # let the tail drain
    for p in pipes:
        p.send("stop")
    cpu_used = {pid: _cpu_s(pid) - before for pid, before in cpu_before.items()}
    results = [p.recv() for p in pipes]
    for proc in procs:
        proc.join(timeout=10)

    hist = [sum(col) for col in zip(*(r["hist"] for r in results), strict=True)]
    total = sum(hist)
    per_client = [t for r in results for t in r["trades"]]
    produced = set().union(*map(set, per_client)) if per_client else set()
    lo, hi = (min(produced), max(produced)) if produced else (0, -1)
    expected = set(range(lo, hi + 1))
    missed = [len(expected - set(t)) for t in per_client]
    dupes = sum(len(t) - len(set(t)) for t in per_client)
    out_of_order = sum(any(b <= a for a, b in itertools.pairwise(t)) for t in per_client)
    closed = [c for r in results for c in r["closed"]]

    def pct(q: float) -> int:
        target, run = q * total, 0
        for ms, count in enumerate(hist):
            run += count
            if run >= target:
                return ms
        return HIST_MS

    elapsed = max(r["elapsed"] for r in results)
    messages = sum(r["messages"] for r in results)
    rate = sent / args.duration
    print(f"trades sent: {sent} ({rate:.1f}/s); distinct trade ids seen: {len(expected)}")
    worst = max((i for i, c in enumerate(hist) if c), default=0)
    print(
        f"trade delivery latency ms: p50 {pct(0.50)}  p90 {pct(0.90)}  p99 {pct(0.99)}  "
        f"p99.9 {pct(0.999)}  max {worst}"
    )
    print(
        f"delivered: {messages / elapsed:,.0f} messages/s "
        f"({total:,} trade latencies sampled on 1 client in {args.latency_every})"
    )
    gaps = sum(r["depth_gaps"] for r in results)
    print(
        f"missed trades per client: max {max(missed, default=0)}, total {sum(missed)}; "
        f"duplicates {dupes}; clients out of order {out_of_order}; depth gaps {gaps}"
    )
    print(f"connections closed during the run: {len(closed)} {sorted(set(closed))}")
    window = args.duration + 3.0
    shown = ", ".join(f"{pid}: {used / window:.0%}" for pid, used in cpu_used.items())
    clients_cpu = sum(r["cpu"] for r in results) / elapsed
    print(f"CPU (share of one core): clients {clients_cpu:.0%}; server pids {shown or '-'}")


if __name__ == "__main__":
    main()
