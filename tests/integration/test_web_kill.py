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
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db.models import Count, Max

from accounts.selectors import fee_account_id
from matching.transport import MatcherTransport, connect
from matching.worker import Matcher
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.integration.test_fault_injection import (
    _assert_conserved,
    _assert_db_matches_engine,
    _at_least,
)
from tests.support.processes import wait_http_ok
from tests.support.waiting import wait_until
from trading.models import Order, OrderStatus, Trade
from trading.specs import cached_market

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db]

SYMBOL = "SOL_USDC"
CLIENTS = 4
ORDERS_PER_CLIENT = 120
KILLS = 3


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory)
        try:
            yield running
        finally:
            stop_stack(running)


def _order_flow(
    trader: Trader,
    seed: int,
    acked: dict[int, dict[str, Any]],
    cut_off: list[str],
    errors: list[str],
) -> None:
    rng = random.Random(seed)
    for i in range(ORDERS_PER_CLIENT):
        body: dict[str, Any] = {
            "symbol": SYMBOL,
            "side": rng.choice(["buy", "sell"]),
            "type": "limit",
            "price": str(Decimal(150) + Decimal(rng.randint(-20, 20)) / 100),
            "quantity": str(Decimal(rng.randint(1, 30)) / 100),
            "time_in_force": rng.choice(["GTC", "GTC", "GTC", "IOC"]),
            "client_order_id": f"{trader.username}-{i}",
        }
        try:
            resp = trader.api.post("/api/v1/order", body)
        except requests.RequestException:
            # the server died under this request, or is still starting: never retried with the
            # same client id, so it must show up at most once
            cut_off.append(body["client_order_id"])
            trader.api.session.close()
            time.sleep(0.05)
            continue
        if resp.status_code in (201, 202):
            data = resp.json()
            acked[data["order_id"]] = {"status_code": resp.status_code, **data}
        elif resp.status_code >= 500:
            errors.append(f"{resp.status_code}: {resp.text[:200]}")


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
        wait_until(partial(_at_least, acked, target), timeout=120, what=f"{target} acked")
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
    market_id, spec, _, _ = cached_market(SYMBOL)
    stats = Trade.objects.filter(market_id=market_id).aggregate(n=Count("id"), top=Max("trade_id"))
    assert stats["n"] == stats["top"]
    for name in ("matcher-s0", "persister"):
        stack.procs[name].stop()
    engine = Matcher(MatcherTransport(connect(settings.REDIS_URL), "s0"), fee_account_id())
    engine.recover()
    _assert_db_matches_engine(engine, spec)
    _assert_conserved()
