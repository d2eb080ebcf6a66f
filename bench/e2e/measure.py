"""What the benchmark measures beside latency: CPU per role over a phase's middle half, the
matcher's and persister's lag from GET /api/v1/health, percentiles."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cpu_split
import requests

from e2e.client import Key


@dataclass
class CpuWindow:
    """CPU per role over the middle half of a closed-loop phase (bench/cpu_split.py)."""

    start: float = 0.0
    end: float = 0.0
    seconds: dict[str, float] | None = None
    idle_share: float = 0.0


def _sample_cpu(window: CpuWindow, start_at: float, duration: float) -> None:
    window.start, window.end = start_at + duration / 4, start_at + 3 * duration / 4
    time.sleep(max(0.0, window.start - time.time()))
    before, (idle0, _, total0) = cpu_split.sample(), cpu_split.cpu_ticks()
    time.sleep(max(0.0, window.end - time.time()))
    after, (idle1, _, total1) = cpu_split.sample(), cpu_split.cpu_ticks()
    window.seconds = cpu_split.split(before, after)
    window.idle_share = (idle1 - idle0) / max(1, total1 - total0)


def run_phase(
    pool: Any,
    fn: Any,
    keys: list[Key],
    procs: int,
    extra: tuple[Any, ...],
    cpu: CpuWindow | None = None,
) -> list:
    start_at = time.time() + 1.0
    sampler = None
    if cpu is not None:
        duration = extra[2]
        sampler = threading.Thread(target=_sample_cpu, args=(cpu, start_at, duration))
        sampler.start()
    chunks = [keys[i::procs] for i in range(procs)]
    outs = pool.map(
        fn, [(extra[0], chunk, *extra[1:], i, start_at) for i, chunk in enumerate(chunks)]
    )
    if sampler is not None:
        sampler.join()
    return [r for out in outs for r in out["results"]]


def cpu_report(name: str, rows: list[tuple[int, float, float]], ok: int, cpu: CpuWindow) -> None:
    """CPU per acknowledged request, per role, over the phase's middle half."""
    if not cpu.seconds:
        return
    done = sum(1 for status, _, at in rows if status == ok and cpu.start <= at < cpu.end)
    if not done:
        return
    print(
        f"CPU per {name} request ({done / (cpu.end - cpu.start):.0f}/s in the middle "
        f"{cpu.end - cpu.start:.0f} s, {cpu.idle_share * 100:.0f} % of the cores idle):"
    )
    print(cpu_split.report(cpu.seconds, done))


def cpu_per_order(
    rows: list[tuple[int, float, float]], ok: int, cpu: CpuWindow
) -> tuple[float, float, float]:
    """(acknowledged orders/s, CPU ms per order of every process, of the REST server) over
    the loop's middle half."""
    done = sum(1 for status, _, at in rows if status == ok and cpu.start <= at < cpu.end)
    if not done or not cpu.seconds:
        return 0.0, 0.0, 0.0
    web = sum(cpu.seconds.get(role, 0.0) for role in ("granian", "gunicorn"))
    return (
        done / (cpu.end - cpu.start),
        sum(cpu.seconds.values()) / done * 1000,
        web / done * 1000,
    )


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def sample_lag(base_url: str, stop: threading.Event, out: list[dict[str, Any]]) -> None:
    while not stop.is_set():
        try:
            data = requests.get(f"{base_url}/api/v1/health", timeout=5).json()
            out.append({"t": time.time(), **data})
        except requests.RequestException:
            pass
        stop.wait(1.0)


@contextmanager
def sampling_lag(base_url: str, out: list[dict[str, Any]]) -> Iterator[None]:
    """Sample GET /api/v1/health once a second into ``out`` while the block runs."""
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lag, args=(base_url, stop, out))
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


def lag_rows(samples: list[dict[str, Any]]) -> list[tuple[float, int, int, int]]:
    """(time, persister lag in events, matcher seq, matcher lag in commands) per shard per
    sample; the matcher's lag is its commands not yet applied (delivered or not)."""
    return [
        (
            s["t"],
            shard.get("persister_lag", 0),
            shard.get("seq", 0),
            shard.get("matcher_lag", 0),
        )
        for s in samples
        for shard in ((s.get("checks") or {}).get("shards") or {}).values()
    ]


def lag_summary(rows: list[tuple[float, int, int, int]]) -> str:
    """The matcher's lag over the samples: its max and mean."""
    values = [lg for _, _, _, lg in rows] or [0]
    return f"max {max(values)}, mean {statistics.mean(values):.1f} (one sample a second)"


def wait_caught_up(base_url: str, timeout_s: float = 120.0) -> float:
    """Seconds until every shard's persister lag is 0 (``timeout_s`` if it never is)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        rows = lag_rows([{"t": 0, **requests.get(f"{base_url}/api/v1/health", timeout=5).json()}])
        if rows and all(lag == 0 for _, lag, _, _ in rows):
            break
        time.sleep(0.05)
    return time.monotonic() - started
