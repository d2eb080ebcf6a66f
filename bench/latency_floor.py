"""The latency floor: what one request costs when nothing else is running. Not a test.

Against a running stack (``bench/stack.sh``), one client sends one request at a time with a
pause between them, so nothing queues: what is left is the CPU on the order's path and the
wake-ups of every process it crosses (client, web thread, Redis, matcher, Redis, web thread,
client). On a virtual machine whose idle CPUs halt, a wake-up goes through the hypervisor, and
this floor is what the open loop of ``bench/e2e_orders.py`` starts from.

    .venv/bin/python bench/latency_floor.py --base-url http://127.0.0.1:8100

It also times two things that need no stack: a pipe ping-pong between two processes (the price
of a wake-up on this machine) and a Redis ``PING`` on the stack's Redis (one round trip).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from urllib.parse import urlencode

import redis
from e2e.client import Signed, setup_traders
from e2e.loops import SYMBOL, order_body


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return f"p50 {at(50):6.2f} ms  p90 {at(90):6.2f} ms  p99 {at(99):6.2f} ms"


def timed(
    label: str,
    call: Callable[[], object],
    count: int,
    pause_s: float,
    before: Callable[[], object] | None = None,
) -> None:
    """Time ``call`` ``count`` times, one at a time; ``before`` runs untimed ahead of each."""
    samples = []
    for _ in range(count):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(pause_s)
    apart = f"{pause_s * 1000:.0f} ms apart"
    print(f"{label:<28} {percentiles(samples)}  ({count} one at a time, {apart})")


def pipe_ping_pong(rounds: int) -> float:
    """Microseconds per round trip of one byte between two processes over pipes."""
    to_child, from_parent = os.pipe()
    to_parent, from_child = os.pipe()
    pid = os.fork()
    if pid == 0:  # the echo side
        for _ in range(rounds):
            os.read(to_child, 1)
            os.write(from_child, b"x")
        os._exit(0)
    started = time.perf_counter()
    for _ in range(rounds):
        os.write(from_parent, b"x")
        os.read(to_parent, 1)
    elapsed = time.perf_counter() - started
    os.waitpid(pid, 0)
    for fd in (to_child, from_parent, to_parent, from_child):
        os.close(fd)
    return elapsed / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8100")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
    )
    parser.add_argument("--count", type=int, default=300, help="requests per kind")
    parser.add_argument("--pause-ms", type=float, default=10.0)
    args = parser.parse_args()
    pause = args.pause_ms / 1000

    print(f"pipe ping-pong between two processes: {pipe_ping_pong(20_000):.1f} us per round trip")
    client = redis.Redis.from_url(args.redis_url)
    timed("redis PING", client.ping, args.count, pause)

    key = setup_traders(args.base_url, 1, f"{int(time.time())}f")[0]
    signed = Signed(args.base_url, key)
    rng = random.Random(1)
    timed("GET /api/v1/account", lambda: signed.call("GET", "/api/v1/account"), args.count, pause)
    timed(
        "POST /api/v1/order",
        lambda: signed.call("POST", "/api/v1/order", order_body(rng)),
        args.count,
        pause,
    )
    cancel_all = "/api/v1/orders?" + urlencode({"symbol": SYMBOL})
    signed.call("DELETE", cancel_all)
    # Five resting orders (far below the mid, so nothing trades) are cancelled each time.
    resting = {**order_body(rng), "side": "buy", "price": "50.00", "quantity": "0.10"}
    timed(
        "DELETE /api/v1/orders (5)",
        lambda: signed.call("DELETE", cancel_all),
        50,
        pause,
        before=lambda: [signed.call("POST", "/api/v1/order", resting) for _ in range(5)],
    )


if __name__ == "__main__":
    main()
