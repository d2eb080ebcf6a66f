"""Persister benchmark: CPU per order of writing the matcher's events to PostgreSQL. Not a test.

    createdb -h 127.0.0.1 -U postgres exchange_pbench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_pbench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/persister_bench.py [--orders 20000]

The database is migrated and seeded (``seed_demo --force``) by the script; its exchange tables
are emptied first, and the Redis database is flushed (use scratch ones).

1. Builds, in process, the order flow bench/e2e_orders.py sends: N traders funded by deposits,
   limit orders around a mid of 100 on SOL_USDC crossing about half the time, 10 % IOC, a
   cancel-all every 50 orders per trader. The engine turns it into events; commands are grouped
   into matcher batches (``--per-batch``, one events-stream entry each) as the live matcher
   does, and those into persister transactions of ``--per-tx`` orders (what the persister's
   50 ms linger gathers at about 1,400 orders/s).
2. Times decoding and ``Persister.apply`` over all of them: the persister's own CPU
   (``process_time``) and its PostgreSQL backend's (``/proc/<pid>/stat``), each per order
   placed, and wall time.
3. Checks the result: every order row written, balances equal to the engine's.

The figures are CPU per order, so less sensitive to other load than a rate, but this machine's
speed drifts: compare builds in the same minutes (``--repeat`` runs the whole thing again).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

import django

django.setup()  # before the models are imported

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Balance, User  # noqa: E402
from accounts.selectors import fee_account_id  # noqa: E402
from matching import snapshot  # noqa: E402
from matching.arith import amount_to_atoms, atoms_to_amount  # noqa: E402
from matching.commands import AddMarket, CancelAll, Command, Deposit, PlaceOrder  # noqa: E402
from matching.engine import MatchingEngine  # noqa: E402
from matching.events import Event  # noqa: E402
from matching.types import OrderType, Side, StpMode, TimeInForce  # noqa: E402
from pipeline.event_reader import EventReader  # noqa: E402
from pipeline.keys import shard_keys  # noqa: E402
from pipeline.packing import pack_events  # noqa: E402
from pipeline.persister import Persister  # noqa: E402
from pipeline.streams import EventBatch, parse_event_entry  # noqa: E402
from pipeline.wire import connect  # noqa: E402
from trading.models import EventCheckpoint, Order  # noqa: E402
from trading.specs import market_specs  # noqa: E402

SHARD = "pbench"
SYMBOL = "SOL_USDC"
TABLES = (
    "accounts_ledgerentry",
    "accounts_balance",
    "trading_trade",
    "trading_order",
    "marketdata_kline",
    "trading_eventcheckpoint",
)


def reset() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--force", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    connect(os.environ["REDIS_URL"]).flushdb()


def traders(n: int) -> list[int]:
    ids = []
    for i in range(n):
        user, _ = User.objects.get_or_create(
            username=f"pbench{i}", defaults={"email": f"pbench{i}@example.com"}
        )
        ids.append(user.pk)
    return ids


def flow(accounts: list[int], orders: int, seed: int) -> tuple[list[Command], int]:
    """(commands, orders placed) of the e2e bench's mix, timestamps 1 ms apart."""
    spec = next(s for s in market_specs() if s.symbol == SYMBOL)
    rng = random.Random(seed)
    ts = time.time_ns()
    cmds: list[Command] = []
    for account in accounts:
        for asset, amount in (("USDC", "100000000"), ("SOL", "1000000")):
            decimals = spec.quote.decimals if asset == "USDC" else spec.base.decimals
            atoms = amount_to_atoms(decimals, Decimal(amount))
            cmds.append(
                Deposit(f"d{account}{asset}", ts, f"t{account}{asset}", account, asset, atoms)
            )
    tick = int(Decimal("0.01") / spec.tick_size)
    mid = int(Decimal(100) / spec.tick_size)
    lot = int(Decimal("0.01") / spec.lot_size)
    sent = dict.fromkeys(accounts, 0)
    placed = 0
    while placed < orders:
        account = rng.choice(accounts)
        ts += 1_000_000
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randint(-5, 5) * tick
        price = mid + (offset if side is Side.BUY else -offset)
        tif = TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.GTC
        placed += 1
        cmds.append(
            PlaceOrder(
                f"p{placed}", ts, 10_000_000 + placed, account, SYMBOL, side, OrderType.LIMIT,
                tif, price, rng.randint(2, 20) * lot, None, False, StpMode.EXPIRE_TAKER, None,
            )
        )  # fmt: skip
        sent[account] += 1
        if sent[account] % 50 == 0:
            cmds.append(CancelAll(f"c{placed}", ts, account, SYMBOL))
    return cmds, placed


Entry = tuple[bytes, dict[bytes, bytes]]


def batches(engine: MatchingEngine, cmds: list[Command], per_batch: int) -> list[Entry]:
    """The events-stream entries the matcher would have written, as Redis returns them."""
    out: list[Entry] = []
    for start in range(0, len(cmds), per_batch):
        events: list[Event] = []
        for cmd in cmds[start : start + per_batch]:
            events.extend(engine.apply(cmd))
        entry = f"{start + 1}-0".encode()
        first = events[0][0] if events else engine.seq + 1
        fields = {
            b"e": pack_events(events),
            b"first_seq": str(first).encode(),
            b"last_seq": str(engine.seq).encode(),
            b"cmd_last": entry,
        }
        out.append((entry, fields))
    return out


def decoded(entries: list[Entry]) -> list[EventBatch]:
    return [parse_event_entry(entry_id, fields) for entry_id, fields in entries]


def backend_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run(args: argparse.Namespace) -> None:
    reset()
    accounts = traders(args.traders)
    fee = fee_account_id()
    engine = MatchingEngine(fee_account=fee)
    for spec in market_specs():
        engine.apply(AddMarket(f"m{spec.symbol}", 0, spec))
    setup_cmds, _ = flow(accounts, 0, args.seed)
    setup = batches(engine, setup_cmds, args.per_batch)
    cmds, placed = flow(accounts, args.orders, args.seed)
    stream = batches(engine, cmds[len(setup_cmds) :], args.per_batch)
    rds = connect(os.environ["REDIS_URL"])
    rds.hset(shard_keys(SHARD).progress, mapping={"seq": engine.seq, "cmd_last": b"0-0"})
    persister = Persister(EventReader(rds, SHARD, "persister", "bench"))
    persister.setup()
    persister.apply(decoded(setup))
    events = sum(len(b.events) for b in decoded(stream))
    # A transaction takes the matcher batches that hold its share of orders.
    per_tx = max(1, args.per_tx // args.per_batch)
    txs = [stream[i : i + per_tx] for i in range(0, len(stream), per_tx)]

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    pg0, cpu0, wall0 = backend_ticks(backend), time.process_time(), time.perf_counter()
    for tx in txs:
        persister.apply(decoded(tx))  # decoding is the persister's work too
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    pg = (backend_ticks(backend) - pg0) / os.sysconf("SC_CLK_TCK")

    assert Order.objects.count() == placed, "not every order was written"
    spec = next(s for s in market_specs() if s.symbol == SYMBOL)
    decimals = {spec.base.code: spec.base.decimals, spec.quote.code: spec.quote.decimals}
    want = {
        (account, asset): atoms_to_amount(decimals[asset], avail + locked)
        for (account, asset), (avail, locked) in _engine_balances(engine).items()
    }
    got = {
        (b.user_id, b.asset.code): b.available + b.locked
        for b in Balance.objects.select_related("asset")
    }
    assert all(got.get(k, 0) == v for k, v in want.items()), "balances differ from the engine"
    checkpoint = EventCheckpoint.objects.get(stream=SHARD)
    assert checkpoint.last_seq == engine.seq

    print(
        f"{placed:,} orders, {len(cmds) - len(setup_cmds):,} commands, {events:,} events "
        f"({events / placed:.1f} per order), {len(txs):,} transactions of ~{args.per_tx} orders"
    )
    print(
        f"persister {cpu / placed * 1e3:.3f} ms/order   PostgreSQL backend "
        f"{pg / placed * 1e3:.3f} ms/order   together {(cpu + pg) / placed * 1e3:.3f} ms/order"
        f"   wall {wall:.2f} s ({placed / wall:,.0f} orders/s)"
    )


def _engine_balances(engine: MatchingEngine) -> dict[tuple[int, str], tuple[int, int]]:
    state = snapshot.dump(engine)
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for account, asset, available, locked in state["balances"]:
        out[(account, asset)] = (available, locked)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--traders", type=int, default=32)
    parser.add_argument("--per-batch", type=int, default=8, help="commands per matcher batch")
    parser.add_argument("--per-tx", type=int, default=70, help="orders per transaction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.repeat):
        run(args)


if __name__ == "__main__":
    main()
