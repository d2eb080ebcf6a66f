"""The trigger index's list of distinct stop prices (``matching.untriggered``): a plain sorted
``list`` with ``bisect`` against a ``sortedcontainers.SortedList``. Prints figures; not a test.

    .venv/bin/python bench/stop_index.py [--sizes 100,1000,10000,100000] [--repeat 5]

What the index does when a stop price gets its first waiting order, and again when its last
one goes: insert the price, then delete it. Timed for each list size at three places: at the
trigger end of the list (the stop nearest the last price, where most stops are placed and all
triggers pop), in the middle, and at the far end (the stop furthest from the price: a plain
list then moves every entry). Each figure is the best of ``--repeat`` runs of 20,000 pairs,
in ns per insert + delete. The whole engine on the conditional stream is measured by
``bench/engine_bench.py``; docs/performance.md has both.
"""

from __future__ import annotations

import argparse
import sys
import time
from bisect import bisect_left, insort
from collections.abc import Callable
from pathlib import Path

from sortedcontainers import SortedList  # type: ignore[import-untyped]  # no types shipped

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import machine  # bench/ is on the path: this runs as a script

PAIRS = 20_000


def plain(stops: list[int], price: int) -> None:
    insort(stops, price)
    del stops[bisect_left(stops, price)]


def sorted_list(stops: SortedList, price: int) -> None:
    stops.add(price)
    stops.remove(price)


def timed(run: Callable[[object, int], None], stops: object, price: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(PAIRS):
            run(stops, price)
        best = min(best, (time.perf_counter_ns() - t0) / PAIRS)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine probe: {machine.probe_ms():.0f} ms (bench/machine.py; lower is faster)")
    print("ns per insert + delete of one stop price     plain list   SortedList")
    for size in (int(s) for s in args.sizes.split(",")):
        # every other price taken, so each one timed is new; the trigger end is the list's last
        prices = list(range(0, 2 * size, 2))
        for where, price in (("trigger end", 2 * size - 3), ("middle", size + 1), ("far end", 1)):
            ns_plain = timed(plain, list(prices), price, args.repeat)  # type: ignore[arg-type]
            ns_sorted = timed(sorted_list, SortedList(prices), price, args.repeat)
            print(
                f"  {size:>7,} prices, {where:<11}          {ns_plain:>10,.0f} {ns_sorted:>12,.0f}"
            )


if __name__ == "__main__":
    main()
