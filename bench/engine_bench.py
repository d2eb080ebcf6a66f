"""Matching engine benchmark: prints figures; not a test.

    .venv/bin/python bench/engine_bench.py [--commands 300000] [--resting 1000000] [--seed 1]
                                           [--skip-memory] [--floor]
                                           [--stream plain|conditional]
                                           [--builds pure,compiled [--streams plain,conditional]]

1. A seeded, realistic single-market stream (``bench/engine_streams.py``): ``plain`` is ~50 %
   resting limits, ~20 % crossing limits, ~5 % market orders, ~25 % cancels of live orders on a
   few thousand live orders over a few hundred price levels, 1,000 accounts funded by Deposit
   commands; ``conditional`` turns a tenth of the commands into stop, take-profit, trailing and
   OCO orders near the last price, many of which trigger during the run. Balances, fees and
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
5. ``--builds pure,compiled``: the whole benchmark once per engine build and per stream
   (``--streams``, both by default), each in a child process with ``ENGINE_BUILD`` set
   (matching/build.py), on the same seeded streams, then side by side: throughput, CPU per
   command, p50 / p99, the probes, and two CPU ratios: compiled vs pure on each stream, and the
   conditional stream vs the plain one on each build (issue 19's targets: >= 1.5x and <= 1.10x).
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
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import machine  # bench/ is on the path: this runs as a script
from engine_streams import (
    ACCOUNTS,
    FEE_ACCOUNT,
    STREAMS,
    SYM,
    mixed_stream,
    resting_orders,
    setup_commands,
)

from matching.build import build_note
from matching.commands import Command
from matching.engine import MatchingEngine
from matching.events import OrderTriggered

TRIGGERING = "(that triggered)"


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
    triggering = [False] * len(cmds)
    gc.collect()
    for i, c in enumerate(cmds):
        t0 = clock()
        events = apply(c)
        samples[i] = clock() - t0
        triggering[i] = OrderTriggered in map(type, events)  # (outside the timed call)
    for k, ns, fired in zip(kinds, samples, triggering, strict=True):
        out.setdefault(k, []).append(ns)
        if fired:  # the commands whose trades triggered orders, which then executed inside them
            out.setdefault(TRIGGERING, []).append(ns)
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


def _child(build: str, stream: str, argv: list[str]) -> dict[str, str]:
    """Run this benchmark on one build and one stream in a child process; its figures."""
    print(f"=== ENGINE_BUILD={build} --stream {stream}", flush=True)
    done = subprocess.run(
        [sys.executable, __file__, *argv, "--stream", stream],
        env={**os.environ, "ENGINE_BUILD": build},
        capture_output=True,
        text=True,
        check=True,
    )
    print(done.stdout, end="", flush=True)
    found = {}
    for key, pattern in FIGURES.items():
        match = re.search(pattern, done.stdout, re.MULTILINE)
        found[key] = " / ".join(match.groups()) if match else "?"
    return found


def _cpu_ratio(slow: dict[str, str] | None, fast: dict[str, str] | None) -> str:
    try:
        return f"{float(slow['cpu']) / float(fast['cpu']):.2f}x"  # type: ignore[index]
    except (TypeError, ValueError):
        return "?"


def compare_builds(builds: list[str], streams: list[str], argv: list[str]) -> None:
    """Run this benchmark once per build and stream, builds alternating; print side by side."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for stream in streams:
        for build in builds:
            found[build, stream] = _child(build, stream, argv)
    print("builds and streams side by side:")
    head = ("build", "stream", "commands/s", "CPU us/cmd", "p50 us", "p99 us")
    print(
        f"  {head[0]:<10} {head[1]:<12} {head[2]:>11} {head[3]:>11} {head[4]:>7} {head[5]:>7}"
        "  probe ms"
    )
    for (build, stream), got in found.items():
        print(
            f"  {build:<10} {stream:<12} {got['rate']:>11} {got['cpu']:>11} {got['p50']:>7}"
            f" {got['p99']:>7}  {got['probe']}"
        )
    for stream in streams:
        if "pure" in builds and "compiled" in builds:
            ratio = _cpu_ratio(found.get(("pure", stream)), found.get(("compiled", stream)))
            print(f"{stream} stream: compiled vs pure {ratio} less CPU per command")
    if "plain" in streams and "conditional" in streams:
        for build in builds:
            ratio = _cpu_ratio(found.get((build, "conditional")), found.get((build, "plain")))
            print(f"{build} build: conditional stream vs plain {ratio} CPU per command")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", type=int, default=300_000)
    ap.add_argument("--resting", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument(
        "--floor", action="store_true", help="also time building the events alone (no engine)"
    )
    ap.add_argument("--stream", choices=STREAMS, default="plain")
    ap.add_argument(
        "--builds",
        help="comma-separated engine builds to run one after the other: pure,compiled",
    )
    ap.add_argument(
        "--streams",
        default=",".join(STREAMS),
        help="with --builds: the streams to run on each build (default: plain,conditional)",
    )
    args = ap.parse_args()
    if args.builds:
        argv = []  # the children's: these arguments less the ones that choose builds/streams
        skip = False
        for arg in sys.argv[1:]:
            if skip:
                skip = False
            elif arg in ("--builds", "--streams", "--stream"):
                skip = True
            elif not arg.startswith(("--builds=", "--streams=", "--stream=")):
                argv.append(arg)
        compare_builds(
            [b.strip() for b in args.builds.split(",") if b.strip()],
            [s.strip() for s in args.streams.split(",") if s.strip()],
            argv,
        )
        return
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, seed {args.seed}; {build_note()}"
    )
    t0 = time.perf_counter()
    setup, cmds, kinds = mixed_stream(args.commands, args.seed, args.stream)
    mix = {k: kinds.count(k) for k in sorted(set(kinds))}
    print(
        f"stream {args.stream}: {len(cmds):,} commands built in {time.perf_counter() - t0:.1f}s; "
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
    for k in ("all", *sorted(set(kinds)), TRIGGERING):
        v = lat.get(k, [])
        if v:
            print(
                f"  {k:<18}      {pct(v, 0.5):7.2f}  {pct(v, 0.99):7.2f}  "
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
