"""SIGKILL the matcher and the persister at random moments under live order flow.

Afterwards: every order acknowledged with 201/202 is in Postgres exactly once with the engine's
final state; no trade is duplicated and trade ids have no holes; Postgres balances equal the
engine's (rebuilt from snapshot + log, which is deterministic); conservation holds per asset.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db.models import Count, Max, Sum

from accounts.models import Balance, Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from accounts.selectors import fee_account_id
from matching.arith import atoms_to_amount, lots_to_quantity
from pipeline.matcher_transport import MatcherTransport
from pipeline.wire import connect
from pipeline.worker import Matcher
from tests.integration.conftest import Stack, Trader
from tests.support.waiting import wait_until
from trading.models import Order, OrderStatus, Trade
from trading.specs import cached_market

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db]

SYMBOL = "SOL_USDC"
CLIENTS = 4
ORDERS_PER_CLIENT = 150
KILLS_EACH = 3


def order_body(rng: random.Random, client_order_id: str) -> dict[str, Any]:
    """A limit order around 150 that crosses about half the time, a quarter of them IOC."""
    side = rng.choice(["buy", "sell"])
    price = Decimal(150) + Decimal(rng.randint(-20, 20)) / 100
    return {
        "symbol": SYMBOL,
        "side": side,
        "type": "limit",
        "price": str(price),
        "quantity": str(Decimal(rng.randint(1, 30)) / 100),
        "time_in_force": rng.choice(["GTC", "GTC", "GTC", "IOC"]),
        "client_order_id": client_order_id,
    }


def record_answer(
    resp: requests.Response, acked: dict[int, dict[str, Any]], errors: list[str]
) -> None:
    """An order answered 201/202 goes into ``acked`` by id; a 5xx is an error."""
    if resp.status_code in (201, 202):
        data = resp.json()
        acked[data["order_id"]] = {"status_code": resp.status_code, **data}
    elif resp.status_code >= 500:
        errors.append(f"{resp.status_code}: {resp.text[:200]}")


def _order_flow(trader: Trader, seed: int, acked: dict[int, dict[str, Any]], errors: list[str]):
    rng = random.Random(seed)
    for i in range(ORDERS_PER_CLIENT):
        body = order_body(rng, f"{trader.username}-{i}")
        try:
            resp = trader.api.post("/api/v1/order", body)
        except Exception as exc:  # the web process is never killed; a refused call is a bug
            errors.append(f"transport error: {exc}")
            continue
        record_answer(resp, acked, errors)
        if i % 25 == 24:
            trader.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_every_acknowledged_order_survives_when_matcher_and_persister_are_killed(
    stack: Stack,
) -> None:
    # given four funded traders sending orders that cross, from four threads
    traders = [stack.funded("fault", USDC="100000", SOL="1000") for _ in range(CLIENTS)]
    acked: dict[int, dict[str, Any]] = {}
    errors: list[str] = []
    flows = [
        threading.Thread(target=_order_flow, args=(t, 1000 + n, acked, errors))
        for n, t in enumerate(traders)
    ]
    for flow in flows:
        flow.start()

    # when the matcher and the persister are SIGKILLed at random moments, three times each,
    # each kill while the clients are still sending (spaced by progress, jittered in time)
    rng = random.Random(7)
    victims = ["matcher-s0", "persister"] * KILLS_EACH
    rng.shuffle(victims)
    total = CLIENTS * ORDERS_PER_CLIENT
    killed_during_flow = 0
    for n, victim in enumerate(victims, start=1):
        target = total * n // (len(victims) + 2)
        wait_until(partial(at_least, acked, target), timeout=120, what=f"{target} acked")
        time.sleep(rng.uniform(0.0, 0.2))  # a random moment within the flow
        killed_during_flow += any(flow.is_alive() for flow in flows)
        stack.kill_and_restart(victim)
    for flow in flows:
        flow.join(timeout=300)
    stack.wait_settled(timeout=60)
    pending_answers = sum(1 for reply in acked.values() if reply["status_code"] == 202)
    print(f"acked {len(acked)} orders ({pending_answers} as 202 pending), {len(victims)} kills")
    assert killed_during_flow == len(victims)

    # then nothing acknowledged was lost or applied twice
    assert not errors, errors[:5]
    assert len(acked) >= CLIENTS * ORDERS_PER_CLIENT // 2
    rows = {o.id: o for o in Order.objects.filter(id__in=list(acked))}
    assert set(rows) == set(acked), f"missing: {sorted(set(acked) - set(rows))[:10]}"
    assert not Order.objects.filter(status=OrderStatus.PENDING).exists()
    for order_id, reply in acked.items():
        if reply["status_code"] == 201 and reply["status"] in ("filled", "rejected"):
            assert rows[order_id].status == reply["status"], (order_id, reply)

    # and trades are unique, Postgres equals the engine, money is conserved
    assert_converged(stack)


def assert_converged(stack: Stack) -> None:
    """Trade ids contiguous (none duplicated or lost); after stopping the matcher and the
    persister, Postgres equals an engine rebuilt independently from the snapshot and the log;
    conservation holds per asset."""
    market_id, spec, _, _ = cached_market(SYMBOL)
    stats = Trade.objects.filter(market_id=market_id).aggregate(n=Count("id"), top=Max("trade_id"))
    assert stats["n"] == stats["top"]
    for name in ("matcher-s0", "persister"):
        stack.procs[name].stop()
    engine = Matcher(MatcherTransport(connect(settings.REDIS_URL), "s0"), fee_account_id())
    engine.recover()
    _assert_db_matches_engine(engine, spec)
    _assert_conserved()


def _assert_db_matches_engine(matcher: Matcher, spec: Any) -> None:
    engine = matcher.engine
    engine.validate()
    decimals = {"SOL": spec.base.decimals, "USDC": spec.quote.decimals}
    for row in Balance.objects.select_related("asset"):
        available, locked = engine.balance(row.user_id, row.asset.code)
        d = decimals[row.asset.code]
        assert (row.available, row.locked) == (
            atoms_to_amount(d, available),
            atoms_to_amount(d, locked),
        ), (row.user_id, row.asset.code)
    open_db = {
        o.id: o
        for o in Order.objects.filter(status__in=[OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED])
    }
    open_engine = {view.order_id: view for view in _all_open(engine)}
    assert set(open_db) == set(open_engine)
    for order_id, view in open_engine.items():
        assert open_db[order_id].filled_quantity == lots_to_quantity(spec, view.filled)


def _all_open(engine: Any) -> list[Any]:
    accounts = set(Order.objects.values_list("user_id", flat=True))
    return [view for account in accounts for view in engine.open_orders(account)]


def _assert_conserved() -> None:
    fee_user = fee_account_id()
    assert Balance.objects.filter(user_id=fee_user).exists()
    for code in ("SOL", "USDC"):
        held = Balance.objects.filter(asset__code=code).aggregate(
            s=Sum("available"), l=Sum("locked")
        )
        deposited = Deposit.objects.filter(
            asset__code=code, status=DepositStatus.CREDITED
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        withdrawn = Withdrawal.objects.filter(
            asset__code=code, status=WithdrawalStatus.COMPLETED
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        assert held["s"] + held["l"] == deposited - withdrawn, code


def at_least(acked: dict[int, Any], count: int) -> bool:
    return len(acked) >= count
