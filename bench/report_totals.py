"""What a reconciliation costs the matcher: ``ReportTotals`` walks every balance. Not a test.

The reconciliation job (accounts/reconciliation.py) sends it to every shard once per
RECONCILE_EVERY_S (60 s); the matcher handles it between two commands, so its duration is a
pause of the order path that often. This times the engine alone, best of five, for a venue of
N accounts holding two assets each.

    .venv/bin/python bench/report_totals.py 10000 100000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.commands import Deposit, ReportTotals
from matching.engine import MatchingEngine


def best_of(engine: MatchingEngine, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        engine.apply(ReportTotals("totals", 1))
        best = min(best, time.perf_counter() - started)
    return best


def main(sizes: list[int]) -> None:
    for accounts in sizes:
        engine = MatchingEngine(fee_account=0)
        for i in range(1, accounts + 1):
            engine.apply(Deposit(f"u{i}", 1, f"usdc-{i}", i, "USDC", 100, 6))
            engine.apply(Deposit(f"s{i}", 1, f"sol-{i}", i, "SOL", 100, 9))
        ms = best_of(engine) * 1000
        print(f"{accounts:>9,} accounts x 2 assets: ReportTotals {ms:8.1f} ms")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])
