"""SIGKILL the REST server (granian, its whole process group) at random moments under order flow.

A killed web process loses nothing it had answered 201/202 for (docs/reliability.md): the
command is in the durable log before the answer is written. A request cut off by the kill may
or may not have reached the log; either way it is applied at most once. Afterwards the same
checks as the matcher and persister kills (test_fault_injection.py): every acknowledged order in
Postgres exactly once, trade ids without holes, Postgres equal to an engine rebuilt from the
snapshot and the log, conservation per asset.
"""

from __future__ import annotations

import random
import threading
import time
from functools import partial
from typing import Any

import pytest
import requests
from django.db.models import Count

from tests.integration.conftest import Stack, Trader
from tests.integration.test_fault_injection import (
    assert_converged,
    at_least,
    order_body,
    record_answer,
)
from tests.support.processes import wait_http_ok
from tests.support.waiting import wait_until
from trading.models import Order, OrderStatus

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db]

CLIENTS = 4
ORDERS_PER_CLIENT = 120
KILLS = 3


def _order_flow(
    trader: Trader,
    seed: int,
    acked: dict[int, dict[str, Any]],
    cut_off: list[str],
    errors: list[str],
) -> None:
    rng = random.Random(seed)
    for i in range(ORDERS_PER_CLIENT):
        body = order_body(rng, f"{trader.username}-{i}")
        try:
            resp = trader.api.post("/api/v1/order", body)
        except requests.RequestException:
            # the server died under this request, or is still starting: never retried with the
            # same client id, so it must show up at most once
            cut_off.append(body["client_order_id"])
            trader.api.session.close()
            # wait for the restarted server rather than spend the flow's orders on a closed
            # port: the kills must each land while orders are still being sent
            wait_until(partial(_serving, trader.api.base_url), timeout=60, what="web back")
            continue
        record_answer(resp, acked, errors)


def _serving(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/api/v1/markets", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_every_acknowledged_order_survives_when_the_web_server_is_killed(stack: Stack) -> None:
    # given four funded traders sending orders that cross, from four threads
    traders = [stack.funded("webkill", USDC="100000", SOL="1000") for _ in range(CLIENTS)]
    acked: dict[int, dict[str, Any]] = {}
    cut_off: list[str] = []
    errors: list[str] = []
    flows = [
        threading.Thread(target=_order_flow, args=(t, 2000 + n, acked, cut_off, errors))
        for n, t in enumerate(traders)
    ]
    for flow in flows:
        flow.start()

    # when the REST server is SIGKILLed (every process of it) three times while they send,
    # and started again each time
    rng = random.Random(11)
    total = CLIENTS * ORDERS_PER_CLIENT
    killed_during_flow = 0
    for n in range(1, KILLS + 1):
        target = total * n // (KILLS + 3)
        wait_until(partial(at_least, acked, target), timeout=120, what=f"{target} acked")
        time.sleep(rng.uniform(0.0, 0.2))
        killed_during_flow += any(flow.is_alive() for flow in flows)
        web = stack.kill_and_restart("web")
        wait_http_ok(f"{stack.base_url}/api/v1/markets", web)
    for flow in flows:
        flow.join(timeout=300)
    stack.wait_settled(timeout=60)
    print(f"acked {len(acked)} orders, {len(cut_off)} cut off by {KILLS} kills of the web server")
    assert killed_during_flow == KILLS

    # then every answered order is in Postgres, and none is there twice
    assert not errors, errors[:5]
    assert len(acked) >= total // 2
    rows = {o.id: o for o in Order.objects.filter(id__in=list(acked))}
    assert set(rows) == set(acked), f"missing: {sorted(set(acked) - set(rows))[:10]}"
    assert not Order.objects.filter(status=OrderStatus.PENDING).exists()
    names = {t.username for t in traders}
    per_client_id = (
        Order.objects.filter(user__username__in=names)
        .values("client_order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not per_client_id.exists(), list(per_client_id[:5])
    for order_id, reply in acked.items():
        if reply["status_code"] == 201 and reply["status"] in ("filled", "rejected"):
            assert rows[order_id].status == reply["status"], (order_id, reply)

    # and trades are unique with contiguous ids, Postgres equals the engine, money is conserved
    assert_converged(stack)
