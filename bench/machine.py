"""How fast this machine is while a benchmark runs: figures to print beside the benchmark's.

The benchmarks run on a KVM guest whose speed moves by up to two times within minutes
(docs/performance.md, "Session 8"), so a latency or throughput figure means little without
the speed it was measured at. Linux only.

- ``probe_ms()``: the best of three runs of a fixed pure-Python loop, in CPU milliseconds of
  this process. On 2026-12-03 it read anywhere from 92 to 196 ms within the hour, the stack
  idle. Run it between phases, not during one: it takes a core for about a second.
- ``CpuShares``: the share of all CPUs' time that was idle, and that the hypervisor took
  (``steal``), between two instants (``cpu_split.cpu_ticks``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cpu_split

PROBE_LOOPS = 3_000_000


def _loop() -> float:
    started = time.process_time()
    total = 0
    for i in range(PROBE_LOOPS):
        total += i * i
    return (time.process_time() - started) * 1000


def probe_ms(runs: int = 3) -> float:
    """CPU ms of the fixed loop, best of ``runs``: lower is a faster machine."""
    return min(_loop() for _ in range(runs))


@dataclass
class CpuShares:
    """Idle and stolen shares of all CPUs' time from ``start()`` to ``stop()``."""

    before: tuple[int, int, int] = (0, 0, 0)
    idle: float = 0.0
    steal: float = 0.0

    def start(self) -> CpuShares:
        self.before = cpu_split.cpu_ticks()
        return self

    def stop(self) -> CpuShares:
        now = cpu_split.cpu_ticks()
        idle, steal, total = (b - a for a, b in zip(self.before, now, strict=True))
        self.idle, self.steal = idle / max(1, total), steal / max(1, total)
        return self

    def __str__(self) -> str:
        return f"idle {self.idle * 100:.0f} %, stolen {self.steal * 100:.1f} %"
