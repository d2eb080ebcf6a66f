"""Matching engine benchmark: prints figures; not a test.

    .venv/bin/python bench/engine_bench.py [--commands 300000] [--resting 1000000] [--seed 1]
                                           [--skip-memory] [--floor] [--builds pure,compiled]

1. A seeded, realistic single-market stream (BTC-USDT): ~50 % resting limits, ~20 % crossing
   limits, ~5 % market orders, ~25 % cancels of live orders; a few thousand live orders over a
   few hundred price levels; 1,000 accounts funded by Deposit commands. Balances, fees and
   events are all on (the engine has no switch to turn them off). The stream is built outside
   the timed region, against a scratch engine so that cancels target orders that are live.
2. Throughput: one pass over the stream on a fresh engine, ``time.perf_counter_ns`` around the
   whole loop (and ``time.process_time_ns``: the CPU time, steadier than the wall clock on a
   shared machine; compare builds by it in the same minutes). Latency: a second pass on
   another fresh engine with ``perf_counter_ns`` around each ``apply``; p50 / p99 per command
   kind.
3. ``--floor``: the cost of building the stream's events alone (see ``event_floor``).
4. The machine probe (``bench/machine.py``) before the throughput pass and after the latency
   pass: how fast the machine was meanwhile.
5. ``--builds pure,compiled``: the whole benchmark once per engine build, each in a child
   process with ``ENGINE_BUILD`` set (matching/build.py), on the same seeded stream, then the
   builds side by side: throughput, CPU per command, p50 / p99, the probes, and the CPU ratio.
   Without it, the build this process loaded (the compiled one when built) runs, and its
   header line says which.
6. Memory per resting order: tracemalloc's traced bytes before and after placing N
   non-crossing limit orders (no client order ids; another run with client ids), divided by N.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import machine  # bench/ is on the path: this runs as a script

from matching.build import build_note
from matching.commands import AddMarket, CancelOrder, Command, Deposit, PlaceOrder
from matching.engine import MatchingEngine
from matching.types import (
    AssetSpec,
    MarketSpec,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)

SYM = "BTC-USDT"
SPEC = MarketSpec(
    symbol=SYM,
    base=AssetSpec("BTC", 8),
    quote=AssetSpec("USDT", 6),
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.0001"),  # 0.01 x 0.0001 x 10**6 = 1 quote atom per tick-lot
    min_notional=Decimal("1"),
    maker_fee_rate=Decimal("0.0002"),
    taker_fee_rate=Decimal("0.0005"),
)
MID = 3_000_000  # 30,000.00 USDT
ACCOUNTS = 1_000
FEE_ACCOUNT = 0
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
STP = StpMode.EXPIRE_TAKER


def setup_commands() -> list[Command]:
    cmds: list[Command] = [AddMarket("m", 0, SPEC)]
    for a in range(1, ACCOUNTS + 1):
        cmds.append(Deposit(f"d{a}b", 0, f"dep-b-{a}", a, "BTC", 10**8 * 10**6))
        cmds.append(Deposit(f"d{a}q", 0, f"dep-q-{a}", a, "USDT", 10**15 * 10**6))
    return cmds


def mixed_stream(n: int, seed: int) -> tuple[list[Command], list[Command], list[str]]:
    """(setup, stream, kind of each stream command), built against a scratch engine."""
    rng = random.Random(seed)
    setup = setup_commands()
    scratch = MatchingEngine(FEE_ACCOUNT)
    for cmd in setup:
        scratch.apply(cmd)
    live = scratch.open_orders_by_id  # read-only use: which ids are resting right now
    cmds: list[Command] = []
    kinds: list[str] = []
    oid = 0
    live_ids: list[int] = []
    # warm the book to a few thousand live orders over a few hundred levels
    for i in range(3_000):
        oid += 1
        side = BUY if i % 2 else SELL
        off = rng.randint(1, 150)
        price = MID - off if side is BUY else MID + off
        c: Command = PlaceOrder(
            f"w{i}",
            i,
            oid,
            rng.randint(1, ACCOUNTS),
            SYM,
            side,
            LIMIT,
            GTC,
            price,
            rng.randint(1, 50),
            None,
            False,
            STP,
            None,
        )
        setup.append(c)
        scratch.apply(c)
        live_ids.append(oid)
    for i in range(n):
        r = rng.random()
        acct = rng.randint(1, ACCOUNTS)
        side = BUY if rng.random() < 0.5 else SELL
        if r < 0.25 and live_ids:
            # cancel a live order (owner's account); prune ids that died meanwhile
            while live_ids:
                j = rng.randrange(len(live_ids))
                victim = live_ids[j]
                live_ids[j] = live_ids[-1]
                live_ids.pop()
                o = live.get(victim)
                if o is not None:
                    c = CancelOrder(f"c{i}", i, o.account, SYM, victim, None)
                    kinds.append("cancel")
                    break
            else:
                continue
        elif r < 0.75:
            oid += 1
            off = rng.randint(1, 150)
            price = MID - off if side is BUY else MID + off
            c = PlaceOrder(
                f"c{i}",
                i,
                oid,
                acct,
                SYM,
                side,
                LIMIT,
                GTC,
                price,
                rng.randint(1, 50),
                None,
                False,
                STP,
                None,
            )
            kinds.append("limit_rest")
            live_ids.append(oid)
        elif r < 0.95:
            oid += 1
            off = rng.randint(0, 5)
            best = scratch.markets_by_symbol[SYM].book
            if side is BUY:
                price = (best.best_ask if best.best_ask < 10**9 else MID) + off
            else:
                price = (best.best_bid if best.best_bid else MID) - off
            tif = GTC if rng.random() < 0.5 else IOC
            c = PlaceOrder(
                f"c{i}",
                i,
                oid,
                acct,
                SYM,
                side,
                LIMIT,
                tif,
                price,
                rng.randint(1, 200),
                None,
                False,
                STP,
                None,
            )
            kinds.append("limit_cross")
            live_ids.append(oid)
        else:
            oid += 1
            if side is BUY and rng.random() < 0.5:
                c = PlaceOrder(
                    f"c{i}",
                    i,
                    oid,
                    acct,
                    SYM,
                    BUY,
                    MARKET,
                    IOC,
                    None,
                    None,
                    rng.randint(10_000_000, 100_000_000),
                    False,
                    STP,
                    None,
                )
            else:
                c = PlaceOrder(
                    f"c{i}",
                    i,
                    oid,
                    acct,
                    SYM,
                    side,
                    MARKET,
                    IOC,
                    None,
                    rng.randint(1, 40),
                    None,
                    False,
                    STP,
                    None,
                )
            kinds.append("market")
        cmds.append(c)
        scratch.apply(c)
    return setup, cmds, kinds


def throughput(setup: list[Command], cmds: list[Command]) -> tuple[float, float, int, int, int]:
    """(commands/s, CPU us per command, events, orders resting at the end, price levels)."""
    engine = MatchingEngine(FEE_ACCOUNT)
    for c in setup:
        engine.apply(c)
    apply = engine.apply
    events = 0
    gc.collect()
    cpu0 = time.process_time_ns()
    t0 = time.perf_counter_ns()
    for c in cmds:
        events += len(apply(c))
    elapsed = time.perf_counter_ns() - t0
    cpu = time.process_time_ns() - cpu0
    engine.validate()
    book = engine.markets_by_symbol[SYM].book
    levels = len(book.bids) + len(book.asks)
    return (
        len(cmds) / (elapsed / 1e9),
        cpu / len(cmds) / 1000,
        events,
        len(engine.open_orders_by_id),
        levels,
    )


def latencies(setup: list[Command], cmds: list[Command], kinds: list[str]) -> dict[str, list[int]]:
    engine = MatchingEngine(FEE_ACCOUNT)
    for c in setup:
        engine.apply(c)
    apply = engine.apply
    clock = time.perf_counter_ns
    out: dict[str, list[int]] = {}
    samples = [0] * len(cmds)
    gc.collect()
    for i, c in enumerate(cmds):
        t0 = clock()
        apply(c)
        samples[i] = clock() - t0
    for k, ns in zip(kinds, samples, strict=True):
        out.setdefault(k, []).append(ns)
    out["all"] = samples
    return out


def event_floor(setup: list[Command], cmds: list[Command]) -> tuple[float, float]:
    """What building the stream's events alone costs: (ns per command, ns per event).

    Every event of the stream is recorded as (class, field values); the timed loop then builds
    each command's list of events again with ``tuple.__new__`` (the cheapest way to make a
    NamedTuple; the engine builds them by keyword, which costs more) and drops it, minus the
    same loop building plain lists of the recorded field tuples. Any engine that emits these
    events pays at least this; it does not include computing the field values.
    """
    engine = MatchingEngine(FEE_ACCOUNT)
    for c in setup:
        engine.apply(c)
    per_cmd = [[(type(ev), tuple(ev)) for ev in engine.apply(c)] for c in cmds]
    n_events = sum(map(len, per_cmd))
    new = tuple.__new__

    def timed(build: bool) -> int:
        t0 = time.perf_counter_ns()
        if build:
            for evs in per_cmd:
                [new(cls, fields) for cls, fields in evs]
        else:
            for evs in per_cmd:
                [fields for cls, fields in evs]
        return time.perf_counter_ns() - t0

    gc.collect()
    net = min(timed(True) for _ in range(3)) - min(timed(False) for _ in range(3))
    return net / len(cmds), net / n_events


def pct(values: list[int], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] / 1000


def resting_orders(n: int, with_client_ids: bool) -> Iterator[Command]:
    rng = random.Random(7)
    for i in range(1, n + 1):
        side = BUY if i % 2 else SELL
        off = rng.randint(1, 2_000)
        price = MID - off if side is BUY else MID + off
        yield PlaceOrder(
            "r",
            i,
            i,
            rng.randint(1, ACCOUNTS),
            SYM,
            side,
            LIMIT,
            GTC,
            price,
            rng.randint(1, 50),
            None,
            False,
            STP,
            f"cli-{i:012d}" if with_client_ids else None,
        )


def memory_per_order(n: int, with_client_ids: bool) -> tuple[float, int]:
    engine = MatchingEngine(FEE_ACCOUNT)
    for c in setup_commands():
        engine.apply(c)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    apply = engine.apply
    for c in resting_orders(n, with_client_ids):
        apply(c)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    resting = len(engine.open_orders_by_id)
    return (after - before) / resting, resting


FIGURES = {
    "rate": r"throughput: ([\d,]+) commands/s",
    "cpu": r"CPU ([\d.]+) us/command",
    "p50": r"^  all +([\d.]+)",
    "p99": r"^  all +[\d.]+ +([\d.]+)",
    "probe": r"machine probe: (\d+) ms before, (\d+) ms after",
}


def compare_builds(builds: list[str], argv: list[str]) -> None:
    """Run this benchmark once per build, each in a child process; print them side by side."""
    found: dict[str, dict[str, str]] = {}
    for name in builds:
        print(f"=== ENGINE_BUILD={name}", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, *argv],
            env={**os.environ, "ENGINE_BUILD": name},
            capture_output=True,
            text=True,
            check=True,
        )
        print(done.stdout, end="", flush=True)
        found[name] = {}
        for key, pattern in FIGURES.items():
            match = re.search(pattern, done.stdout, re.MULTILINE)
            found[name][key] = " / ".join(match.groups()) if match else "?"
    print("builds side by side (same stream):")
    head = ("build", "commands/s", "CPU us/cmd", "p50 us", "p99 us")
    print(f"  {head[0]:<10} {head[1]:>11} {head[2]:>11} {head[3]:>7} {head[4]:>7}  probe ms")
    for name, got in found.items():
        print(
            f"  {name:<10} {got['rate']:>11} {got['cpu']:>11} {got['p50']:>7} {got['p99']:>7}"
            f"  {got['probe']}"
        )
    if {"pure", "compiled"} <= found.keys():
        try:
            ratio = float(found["pure"]["cpu"]) / float(found["compiled"]["cpu"])
            print(f"compiled vs pure: {ratio:.2f}x less CPU per command")
        except ValueError:
            pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=300_000)
    ap.add_argument("--resting", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument(
        "--floor", action="store_true", help="also time building the events alone (no engine)"
    )
    ap.add_argument(
        "--builds",
        help="comma-separated engine builds to run one after the other: pure,compiled",
    )
    args = ap.parse_args()
    if args.builds:
        argv = sys.argv[1:]  # the children's: these arguments less --builds and its value
        if "--builds" in argv:
            del argv[argv.index("--builds") : argv.index("--builds") + 2]
        argv = [a for a in argv if not a.startswith("--builds=")]
        compare_builds([b.strip() for b in args.builds.split(",") if b.strip()], argv)
        return
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, seed {args.seed}; {build_note()}"
    )
    t0 = time.perf_counter()
    setup, cmds, kinds = mixed_stream(args.commands, args.seed)
    mix = {k: kinds.count(k) for k in sorted(set(kinds))}
    print(
        f"stream: {len(cmds):,} commands built in {time.perf_counter() - t0:.1f}s; "
        f"mix {mix}; setup {len(setup):,} commands (1 market, {ACCOUNTS} accounts x 2 "
        f"deposits, 3,000 warm-up orders)"
    )
    probe_before = machine.probe_ms()
    rate, cpu_us, events, live, levels = throughput(setup, cmds)
    print(
        f"throughput: {rate:,.0f} commands/s, CPU {cpu_us:.2f} us/command "
        f"({events / len(cmds):.2f} events/command, "
        f"{live:,} orders resting on {levels} levels at the end)"
    )
    lat = latencies(setup, cmds, kinds)
    total = sum(lat["all"])
    print("latency per command (us):     p50      p99    p99.9     mean    count  share of time")
    for k in ("all", "limit_rest", "limit_cross", "market", "cancel"):
        v = lat.get(k, [])
        if v:
            print(
                f"  {k:<12}            {pct(v, 0.5):7.2f}  {pct(v, 0.99):7.2f}  "
                f"{pct(v, 0.999):7.2f}  {sum(v) / len(v) / 1000:7.2f}  {len(v):7,}"
                f"  {sum(v) / total:6.1%}"
            )
    print(
        f"machine probe: {probe_before:.0f} ms before, {machine.probe_ms():.0f} ms after "
        "(bench/machine.py; lower is faster)"
    )
    if args.floor:
        per_cmd, per_event = event_floor(setup, cmds)
        print(
            f"event floor: building the same events alone takes {per_cmd:,.0f} ns per command "
            f"({per_event:,.0f} ns per event, tuple.__new__ and drop)"
        )
    if not args.skip_memory:
        for with_ids in (False, True):
            per, resting = memory_per_order(args.resting, with_ids)
            label = "with" if with_ids else "without"
            print(
                f"memory: {per:,.0f} bytes per resting order ({resting:,} resting, "
                f"{label} client order ids; tracemalloc delta of all engine state)"
            )


if __name__ == "__main__":
    main()
