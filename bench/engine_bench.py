"""Matching engine benchmark: prints figures; not a test.

    .venv/bin/python bench/engine_bench.py [--commands 300000] [--resting 1000000] [--seed 1]
                                           [--skip-memory] [--floor] [--passes 3]
                                           [--chunk 10000] [--skip-latency]
                                           [--stream plain|conditional|plain,conditional]
                                           [--builds pure,compiled [--streams plain,conditional]
                                            [--rounds 3]]

1. A seeded, realistic single-market stream (``bench/engine_streams.py``): ``plain`` is ~50 %
   resting limits, ~20 % crossing limits, ~5 % market orders, ~25 % cancels of live orders on a
   few thousand live orders over a few hundred price levels, 1,000 accounts funded by Deposit
   commands; ``conditional`` turns a tenth of the commands into stop, take-profit, trailing and
   OCO orders near the last price, many of which trigger during the run. Balances, fees and
   events are all on (the engine has no switch to turn them off). The stream is built outside
   the timed region, against a scratch engine so that cancels target orders that are live.
2. Throughput: ``--passes`` passes (3), each on a fresh engine per stream,
   ``time.perf_counter_ns`` and ``time.process_time_ns`` (the CPU time, steadier than the wall
   clock on a shared machine) around each ``--chunk`` of commands; the figures are the pass
   with the least CPU (a busy neighbour only ever adds time). With two streams
   (``--stream plain,conditional``), each pass runs them side by side in this process, a chunk
   of one, then a chunk of the other (in turn first), so that the machine's drift, which moves
   its speed by 2-3x within minutes, falls on both alike: their CPU ratio is then steady where
   ratios of separate runs scatter by +-15 %. Latency: one more pass per stream on another
   fresh engine with ``perf_counter_ns`` around each ``apply``; p50 / p99 per command kind
   (``--skip-latency``: none).
3. ``--floor``: the cost of building the stream's events alone (see ``event_floor``).
4. The machine probe (``bench/machine.py``) before the throughput passes and after the latency
   pass: how fast the machine was meanwhile.
5. ``--builds pure,compiled``: the benchmark per engine build, each in a child process with
   ``ENGINE_BUILD`` set (matching/build.py) running the streams (``--streams``, both by
   default) side by side as above, on the same seeded streams, in ``--rounds`` rounds (3: the
   builds in turn, A B A B; only the first round times each command alone), then side by side:
   throughput, CPU per command, p50 / p99, the probes, and two CPU ratios: compiled vs pure on
   each stream (of the best runs, and the median of the rounds' own ratios), and the
   conditional stream vs the plain one on each build (measured side by side in each run: the
   median and the range over the rounds). Issue 19's targets: >= 1.5x and <= 1.10x.
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
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

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


Figures = tuple[float, float, int, int, int]
"""(commands/s, CPU us per command, events, orders resting at the end, price levels)."""


def throughput(streams: list[tuple[list[Command], list[Command]]], chunk: int) -> list[Figures]:
    """One pass over each ``(setup, stream)`` on its own fresh engine, the streams side by side
    in ``chunk``-command turns (each turn's first stream alternating); the figures of each."""
    engines = []
    for setup, _ in streams:
        engine = MatchingEngine(FEE_ACCOUNT)
        for c in setup:
            engine.apply(c)
        engines.append(engine)
    turns = [
        [cmds[start : start + chunk] for start in range(0, len(cmds), chunk)] for _, cmds in streams
    ]
    cpu = [0] * len(streams)
    wall = [0] * len(streams)
    events = [0] * len(streams)
    gc.collect()
    for turn in range(max(map(len, turns))):
        order = range(len(streams)) if turn % 2 == 0 else reversed(range(len(streams)))
        for i in order:
            if turn >= len(turns[i]):
                continue
            apply = engines[i].apply
            part = turns[i][turn]
            count = 0
            cpu0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            for c in part:
                count += len(apply(c))
            wall[i] += time.perf_counter_ns() - t0
            cpu[i] += time.process_time_ns() - cpu0
            events[i] += count
    figures = []
    for i, engine in enumerate(engines):
        engine.validate()
        n = len(streams[i][1])
        book = engine.markets_by_symbol[SYM].book
        levels = len(book.bids) + len(book.asks)
        figures.append(
            (
                n / (wall[i] / 1e9),
                cpu[i] / n / 1000,
                events[i],
                len(engine.open_orders_by_id),
                levels,
            )
        )
    return figures


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


PROBE = r"machine probe: (\d+) ms before, (\d+) ms after"
SIDE = r"^side by side: conditional vs plain, CPU ([\d.]+)x"


def _figure(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return " / ".join(match.groups()) if match else "?"


def _child(build: str, streams: list[str], argv: list[str]) -> tuple[dict[str, Any], str]:
    """Run this benchmark on one build, the streams side by side, in a child process; its
    figures per stream, and the conditional-vs-plain CPU ratio it measured ("?": none)."""
    names = ",".join(streams)
    print(f"=== ENGINE_BUILD={build} --stream {names}", flush=True)
    done = subprocess.run(
        [sys.executable, __file__, *argv, "--stream", names],
        env={**os.environ, "ENGINE_BUILD": build},
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    print(out, end="", flush=True)
    found: dict[str, Any] = {}
    for stream in streams:
        head = rf"^stream {stream} throughput: "
        latency = rf"^latency per command, {stream} stream.*\n  all +"
        found[stream] = {
            "rate": _figure(head + r"([\d,]+) commands/s", out),
            "cpu": _figure(head + r".*?CPU ([\d.]+) us/command", out),
            "p50": _figure(latency + r"([\d.]+)", out),
            "p99": _figure(latency + r"[\d.]+ +([\d.]+)", out),
            "probe": _figure(PROBE, out),
        }
    return found, _figure(SIDE, out)


def _ratios(slow: list[dict[str, str]], fast: list[dict[str, str]]) -> str:
    """The CPU ratio of two variants run apart: of their best runs, and the median of the
    rounds' own ratios."""
    try:
        slow_cpu = [float(got["cpu"]) for got in slow]
        fast_cpu = [float(got["cpu"]) for got in fast]
    except ValueError:
        return "?"
    rounds = [a / b for a, b in zip(slow_cpu, fast_cpu, strict=True)]
    return (
        f"{min(slow_cpu) / min(fast_cpu):.2f}x of the best runs; median of the rounds "
        f"{statistics.median(rounds):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in rounds)})"
    )


def compare_builds(builds: list[str], streams: list[str], argv: list[str], rounds: int) -> None:
    """Run this benchmark per build in ``rounds`` rounds, the builds in turn (A B A B: the
    machine drifts between rounds, less within one), each run with the streams side by side;
    print every run, then the ratios. Only the first round times each command alone."""
    runs: dict[tuple[str, str], list[dict[str, str]]] = {}
    sides: dict[str, list[str]] = {}
    for n in range(rounds):
        for build in builds:
            extra = ["--skip-latency"] if n else []
            found, side = _child(build, streams, argv + extra)
            for stream in streams:
                runs.setdefault((build, stream), []).append(found[stream])
            sides.setdefault(build, []).append(side)
    print("builds and streams side by side (CPU of each run's best pass):")
    head = ("round", "build", "stream", "commands/s", "CPU us/cmd", "p50 us", "p99 us")
    print(
        f"  {head[0]:<5} {head[1]:<10} {head[2]:<12} {head[3]:>11} {head[4]:>11} {head[5]:>7}"
        f" {head[6]:>7}  probe ms"
    )
    for n in range(rounds):
        for (build, stream), got_runs in runs.items():
            got = got_runs[n]
            print(
                f"  {n + 1:<5} {build:<10} {stream:<12} {got['rate']:>11} {got['cpu']:>11}"
                f" {got['p50']:>7} {got['p99']:>7}  {got['probe']}"
            )
    for stream in streams:
        if "pure" in builds and "compiled" in builds:
            ratio = _ratios(runs[("pure", stream)], runs[("compiled", stream)])
            print(f"{stream} stream: compiled vs pure, less CPU per command: {ratio}")
    for build in builds:
        try:
            side_ratios = [float(side) for side in sides[build]]
        except ValueError:
            continue
        print(
            f"{build} build: conditional stream vs plain, CPU per command, side by side: "
            f"median {statistics.median(side_ratios):.2f}x, range {min(side_ratios):.2f}-"
            f"{max(side_ratios):.2f}x over {len(side_ratios)} rounds "
            f"({', '.join(f'{r:.2f}' for r in side_ratios)})"
        )


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
        "--stream",
        default="plain",
        help="plain, conditional, or both side by side: plain,conditional",
    )
    ap.add_argument(
        "--builds",
        help="comma-separated engine builds to run one after the other: pure,compiled",
    )
    ap.add_argument(
        "--streams",
        default=",".join(STREAMS),
        help="with --builds: the streams to run on each build (default: plain,conditional)",
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="with --builds: rounds of every build and stream"
    )
    ap.add_argument(
        "--passes",
        type=int,
        default=3,
        help="throughput passes (each on a fresh engine); the best one's CPU is the figure",
    )
    ap.add_argument("--skip-latency", action="store_true", help="no per-command timing pass")
    ap.add_argument(
        "--chunk", type=int, default=10_000, help="commands per turn when streams run side by side"
    )
    args = ap.parse_args()
    if args.builds:
        argv = []  # the children's: these arguments less the ones that choose builds/streams
        skip = False
        for arg in sys.argv[1:]:
            if skip:
                skip = False
            elif arg in ("--builds", "--streams", "--stream", "--rounds"):
                skip = True
            elif not arg.startswith(("--builds=", "--streams=", "--stream=", "--rounds=")):
                argv.append(arg)
        compare_builds(
            [b.strip() for b in args.builds.split(",") if b.strip()],
            [s.strip() for s in args.streams.split(",") if s.strip()],
            argv,
            max(1, args.rounds),
        )
        return
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, seed {args.seed}; {build_note()}"
    )
    names = [name.strip() for name in args.stream.split(",") if name.strip()]
    if not names or any(name not in STREAMS for name in names):
        ap.error(f"--stream: one or more of {', '.join(STREAMS)}")
    built = {}
    for name in names:
        t0 = time.perf_counter()
        built[name] = setup, cmds, kinds = mixed_stream(args.commands, args.seed, name)
        mix = {k: kinds.count(k) for k in sorted(set(kinds))}
        print(
            f"stream {name}: {len(cmds):,} commands built in {time.perf_counter() - t0:.1f}s; "
            f"mix {mix}; setup {len(setup):,} commands (1 market, {ACCOUNTS} accounts x 2 "
            f"deposits, 3,000 warm-up orders)"
        )
    probe_before = machine.probe_ms()
    streams = [(setup, cmds) for setup, cmds, _ in built.values()]
    passes = [throughput(streams, max(1, args.chunk)) for _ in range(max(1, args.passes))]
    for i, name in enumerate(names):
        rate, cpu_us, events, live, levels = min((p[i] for p in passes), key=lambda f: f[1])
        print(
            f"stream {name} throughput: {rate:,.0f} commands/s, CPU {cpu_us:.2f} us/command "
            f"({events / args.commands:.2f} events/command, {live:,} orders resting on "
            f"{levels} levels at the end); the best of {len(passes)} passes (CPU us/command: "
            f"{', '.join(f'{p[i][1]:.2f}' for p in passes)})"
        )
    if names == ["plain", "conditional"]:
        per_pass = [p[1][1] / p[0][1] for p in passes]
        total = sum(p[1][1] for p in passes) / sum(p[0][1] for p in passes)
        print(
            f"side by side: conditional vs plain, CPU {total:.3f}x over the {len(passes)} "
            f"passes (each pass: {', '.join(f'{r:.3f}' for r in per_pass)})"
        )
    if not args.skip_latency:
        for name, (setup, cmds, kinds) in built.items():
            lat = latencies(setup, cmds, kinds)
            total_ns = sum(lat["all"])
            print(
                f"latency per command, {name} stream (us):"
                "     p50      p99    p99.9     mean    count  share of time"
            )
            for k in ("all", *sorted(set(kinds)), TRIGGERING):
                v = lat.get(k, [])
                if v:
                    print(
                        f"  {k:<18}      {pct(v, 0.5):7.2f}  {pct(v, 0.99):7.2f}  "
                        f"{pct(v, 0.999):7.2f}  {sum(v) / len(v) / 1000:7.2f}  {len(v):7,}"
                        f"  {sum(v) / total_ns:6.1%}"
                    )
    print(
        f"machine probe: {probe_before:.0f} ms before, {machine.probe_ms():.0f} ms after "
        "(bench/machine.py; lower is faster)"
    )
    if args.floor:
        for name, (setup, cmds, _) in built.items():
            per_cmd, per_event = event_floor(setup, cmds)
            print(
                f"event floor, {name} stream: building the same events alone takes "
                f"{per_cmd:,.0f} ns per command ({per_event:,.0f} ns per event, tuple.__new__ "
                "and drop)"
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
