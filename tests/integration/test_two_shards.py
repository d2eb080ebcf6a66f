"""Two matcher shards on one machine: each the single writer of its markets; funds follow the
orders from the funding shard; Postgres equals the sum of both engines."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Sum

from accounts.models import Balance, Deposit, DepositStatus, Withdrawal
from accounts.selectors import fee_account_id
from matching.arith import atoms_to_amount
from pipeline.matcher_transport import MatcherTransport
from pipeline.wire import connect
from pipeline.worker import Matcher
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.support.waiting import wait_until
from trading.models import Trade

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

D = Decimal
SHARDS = "s0=SOL_USDC,BTC_USDC;s1=ETH_USDC"
DECIMALS = {"USDC": 6, "SOL": 9, "BTC": 8, "ETH": 18}


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, shards_spec=SHARDS)
        try:
            yield running
        finally:
            stop_stack(running)


def balances(trader: Trader) -> dict[str, tuple[Decimal, Decimal]]:
    rows = trader.api.get("/api/v1/user/balances").json()
    return {b["asset"]: (D(b["available"]), D(b["locked"])) for b in rows}


def order(trader: Trader, symbol: str, side: str, price: str, quantity: str) -> Any:
    resp = trader.api.post(
        "/api/v1/order",
        {"symbol": symbol, "side": side, "type": "limit", "price": price, "quantity": quantity},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_orders_trade_on_both_shards_when_funds_start_on_the_funding_shard(
    stack: Stack,
) -> None:
    # given two traders whose deposits all landed on the funding shard s0
    alice = stack.funded("alice", USDC="10000", SOL="10", ETH="10")
    bob = stack.funded("bob", USDC="10000")

    # when they trade SOL_USDC (shard s0) and ETH_USDC (shard s1)
    order(alice, "SOL_USDC", "sell", "100", "1")
    assert order(bob, "SOL_USDC", "buy", "100", "1")["status"] == "filled"
    order(alice, "ETH_USDC", "sell", "2000", "1")
    eth = order(bob, "ETH_USDC", "buy", "2000", "1")

    # then both fill, each on its own shard, and the totals are what one venue would show
    assert eth["status"] == "filled", eth
    assert balances(bob)["USDC"] == (D(10000) - D(100) - D(2000), D(0))
    assert balances(bob)["ETH"] == (D("0.998"), D(0))
    assert balances(alice)["USDC"] == (D(10000) + D("99.9") + D("1998"), D(0))
    assert balances(alice)["ETH"] == (D(9), D(0))
    assert Trade.objects.filter(market__symbol="ETH_USDC").count() == 1
    health = stack.health()
    assert set(health["checks"]["shards"]) == {"s0", "s1"}

    # and a withdrawal of everything (12,096.9 and the fee of 1) sweeps the proceeds back from
    # s1 to the funding shard and holds them there (above the threshold: it waits)
    resp = alice.api.post(
        "/api/v1/user/withdraw",
        {"asset": "USDC", "amount": "12096.9", "address": "0x" + "2" * 40},
    )
    assert resp.status_code == 201, resp.text
    assert balances(alice)["USDC"] == (D(0), D("12097.9"))

    # and, settled, Postgres equals the sum of the two engines, and money is conserved
    stack.wait_settled()
    wait_until(lambda: not connect(settings.REDIS_URL).hlen("ex:moves"), what="moves settled")
    stack.wait_settled()
    for name in ("matcher-s0", "matcher-s1", "persister"):
        stack.procs[name].stop()
    engines = [
        Matcher(MatcherTransport(connect(settings.REDIS_URL), shard), fee_account_id())
        for shard in ("s0", "s1")
    ]
    for engine in engines:
        engine.recover()
        engine.engine.validate()
    for row in Balance.objects.select_related("asset"):
        code = row.asset.code
        total_available = sum(m.engine.balance(row.user_id, code)[0] for m in engines)
        total_locked = sum(m.engine.balance(row.user_id, code)[1] for m in engines)
        assert (row.available, row.locked) == (
            atoms_to_amount(DECIMALS[code], total_available),
            atoms_to_amount(DECIMALS[code], total_locked),
        ), (row.user_id, code)
    for code in ("USDC", "SOL", "ETH"):
        held = Balance.objects.filter(asset__code=code).aggregate(
            a=Sum("available"), b=Sum("locked")
        )
        deposited = Deposit.objects.filter(
            asset__code=code, status=DepositStatus.CREDITED
        ).aggregate(s=Sum("amount"))["s"] or D(0)
        completed = Withdrawal.objects.filter(asset__code=code, status="completed").aggregate(
            s=Sum("amount")
        )["s"] or D(0)
        assert held["a"] + held["b"] == deposited - completed, code
