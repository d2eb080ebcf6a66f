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
import multiprocessing as mp
import statistics
import sys
import time
from typing import Any

import machine
from e2e.client import setup_traders
from e2e.loops import CANCEL_ALL, PAIR_SYMBOL, closed_loop, open_loop, reads_phase
from e2e.measure import (
    CpuWindow,
    cpu_per_order,
    cpu_report,
    lag_rows,
    lag_summary,
    pct,
    run_phase,
    sampling_lag,
    wait_caught_up,
)


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
