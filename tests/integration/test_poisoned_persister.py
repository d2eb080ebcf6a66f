"""One event the database refuses must not take the venue down (issue 15): with the real
processes, the persister halts that shard's persistence and says so (health, log), stays up,
the matcher goes on trading, reads answer as read-your-writes allows, and the documented repair
(fix the cause, ``manage.py resume_persister``) writes everything pending exactly once."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings

from accounts.models import Balance, LedgerEntry
from matching.commands import Deposit
from pipeline.client import new_command_id, now_ns
from pipeline.transport import CommandLog
from pipeline.wire import connect
from tests.integration.conftest import Stack
from tests.support.processes import ROOT, manage
from tests.support.waiting import wait_until
from trading.models import Order

pytestmark = [pytest.mark.django_db, pytest.mark.integration, pytest.mark.slow]


def _manage(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """A management command as an operator runs it (it commits, unlike this test's ORM)."""
    return subprocess.run(
        manage(*args), cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60
    )


def _resume(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return _manage(stack, "resume_persister", "--shard", "s0", *args)


@pytest.fixture
def unlisted_asset(stack: Stack) -> Iterator[str]:
    """An asset code the database does not list (until the repair); removed afterwards."""
    yield "ZZZ"
    _manage(
        stack,
        "shell",
        "-c",
        "from accounts.models import Asset, Balance, LedgerEntry;"
        "LedgerEntry.objects.filter(asset__code='ZZZ').delete();"
        "Balance.objects.filter(asset__code='ZZZ').delete();"
        "Asset.objects.filter(code='ZZZ').delete()",
    )


def test_a_poisoned_event_halts_persistence_loudly_and_a_resume_repairs_it(
    stack: Stack, unlisted_asset: str
) -> None:
    alice = stack.funded("alice", USDC="1000")
    bob = stack.funded("bob", SOL="10")

    # given an event the database refuses: a deposit of an asset it does not list
    transfer_id = str(uuid.uuid4())
    poison = Deposit(
        new_command_id(), now_ns(), transfer_id, alice.user_id, unlisted_asset, 10**6, 6
    )
    CommandLog(connect(settings.REDIS_URL)).submit("s0", poison, wait_s=5)

    # then the shard's persistence halts, and health says so, naming the event
    def halted() -> Any:
        return stack.health()["checks"]["shards"]["s0"]["persister_halted"]

    wait_until(lambda: halted() is not None, timeout=30, what="persistence halted")
    health = requests.get(f"{stack.base_url}/api/v1/health", timeout=10)
    assert health.status_code == 503
    assert "BalanceChanged" in halted()["reason"] and "DoesNotExist" in halted()["reason"]
    persister = stack.procs["persister"]
    assert persister.alive  # it did not exit (the run command would stop everything)
    assert "PERSISTENCE HALTED for shard s0" in persister.log_path.read_text()

    # and the matcher goes on: bob's order is matched and answered
    placed = bob.api.post(
        "/api/v1/order",
        {"symbol": "SOL_USDC", "side": "sell", "type": "limit", "price": "20", "quantity": "1"},
    )
    assert placed.status_code == 201, placed.text
    # reads: alice has no write the database lacks, she reads; bob's own order is not written
    # yet, so his read refuses to pass the old state off as current
    assert alice.api.get("/api/v1/user/balances").status_code == 200
    stale = bob.api.get("/api/v1/orders")
    assert stale.status_code == 503 and stale.json()["error"]["code"] == "writes_not_persisted"
    assert requests.get(f"{stack.base_url}/api/v1/depth?symbol=SOL_USDC", timeout=10).ok

    # when the operator tries to resume before fixing the cause, it is refused, nothing changes
    refused = _resume(stack)
    assert refused.returncode != 0 and "still failing" in refused.stderr
    assert halted() is not None

    # when the cause is fixed (the asset listed) and the shard resumed
    listed = _manage(
        stack,
        "shell",
        "-c",
        f"from accounts.services import asset_upsert; asset_upsert({unlisted_asset!r},"
        " name='Zed', decimals=6)",
    )
    assert listed.returncode == 0, listed.stderr
    assert _resume(stack, "--check").returncode == 0
    assert halted() is not None  # --check changes nothing
    resumed = _resume(stack)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed at event seq" in resumed.stdout

    # then everything pending is written, once, and the venue is healthy again
    stack.wait_settled()
    wait_until(lambda: stack.health()["status"] == "ok", timeout=30, what="healthy again")
    assert Balance.objects.get(user_id=alice.user_id, asset__code=unlisted_asset).available == 1
    assert LedgerEntry.objects.filter(cause=f"x:{transfer_id}").count() == 1
    order_id = placed.json()["order_id"]
    assert Order.objects.filter(pk=order_id).count() == 1
    mine = bob.api.get("/api/v1/orders")
    assert mine.status_code == 200 and [o["order_id"] for o in mine.json()] == [order_id]
