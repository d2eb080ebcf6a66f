"""A maker's reads agree with what the taker was told, through the real processes.

Bob's sell is answered ``filled`` against alice's resting buy; alice's very next private read
must show the fill. The persister here lingers 3 s for bigger batches (PERSISTER_LINGER_MS),
so a read that did not wait for the matcher's position (before issue 14 a read waited only for
the reader's own writes) would show the order still ``new``; a read that does wait nudges the
persister and returns in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import Stack, Trader, start_stack, stop_stack

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SYMBOL = "SOL_USDC"
LINGER_MS = 3000


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, extra_env={"PERSISTER_LINGER_MS": str(LINGER_MS)})
        try:
            yield running
        finally:
            stop_stack(running)


def _place(trader: Trader, side: str) -> Any:
    body = {"symbol": SYMBOL, "side": side, "type": "limit", "price": "20", "quantity": "1"}
    return trader.api.post("/api/v1/order", body)


def _shows_fill(path: str, alice: Trader, order_id: int, sol_before: Decimal) -> bool:
    params = {"symbol": SYMBOL, "order_id": order_id} if path == "/api/v1/order" else {}
    resp = alice.api.get(path, **params)
    assert resp.status_code == 200, (path, resp.text)
    body = resp.json()
    if path == "/api/v1/order":
        return bool(body["status"] == "filled" and body["fills"])
    if path == "/api/v1/orders":
        return order_id not in {o["order_id"] for o in body}
    if path == "/api/v1/user/orders":
        return any(o["order_id"] == order_id and o["status"] == "filled" for o in body["results"])
    if path == "/api/v1/user/trades":
        return any(t["order_id"] == order_id for t in body["results"])
    sol = {b["asset"]: Decimal(b["available"]) for b in body}.get("SOL", Decimal(0))
    return sol > sol_before


def _sol(trader: Trader) -> Decimal:
    rows = trader.api.get("/api/v1/user/balances").json()
    return {b["asset"]: Decimal(b["available"]) for b in rows}.get("SOL", Decimal(0))


@pytest.mark.parametrize(
    "path",
    ["/api/v1/order", "/api/v1/orders", "/api/v1/user/orders", "/api/v1/user/trades",
     "/api/v1/user/balances"],
)  # fmt: skip
def test_a_makers_next_read_shows_the_fill_the_taker_was_told_about(
    stack: Stack, path: str
) -> None:
    # given alice's resting buy, which her own read has seen recorded (nothing of hers is left
    # for her next read to wait for), and bob with SOL to sell
    alice = stack.funded("alice", USDC="100")
    bob = stack.funded("bob", SOL="5")
    resting = _place(alice, "buy")
    assert resting.status_code == 201, resting.text
    order_id = resting.json()["order_id"]
    seen = alice.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id)
    assert seen.json()["status"] == "new"
    sol_before = _sol(alice)

    # when bob's sell fills it and he is told so
    taken = _place(bob, "sell")
    assert (taken.status_code, taken.json()["status"]) == (201, "filled"), taken.text

    # then alice's very next read shows the fill, well before the persister's linger ends
    started = time.monotonic()
    assert _shows_fill(path, alice, order_id, sol_before), path
    assert time.monotonic() - started < LINGER_MS / 1000 / 2
