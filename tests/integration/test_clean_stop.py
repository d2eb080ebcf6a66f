"""SIGTERM stops the matcher and the persister cleanly; a restart resumes where they were."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from pipeline.keys import shard_keys
from pipeline.wire import connect
from tests.integration.conftest import Stack
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BUY = {"symbol": "SOL_USDC", "side": "buy", "type": "limit", "price": "10", "quantity": "1"}


def test_sigterm_stops_cleanly_and_a_restart_resumes_from_the_snapshot(stack: Stack) -> None:
    # given a trader with resting orders
    trader = stack.funded("stopper", USDC="1000")
    first = trader.api.post("/api/v1/order", BUY).json()
    assert first["status"] == "new"
    redis = connect(settings.REDIS_URL)
    redis.delete(shard_keys("s0").snapshot)

    # when the matcher and the persister get SIGTERM
    codes: dict[str, Any] = {
        name: stack.procs[name].stop(timeout=15) for name in ("matcher-s0", "persister")
    }

    # then both exit 0 having finished their batch, the matcher leaving a snapshot
    assert codes == {"matcher-s0": 0, "persister": 0}
    assert redis.exists(shard_keys("s0").snapshot)

    # and after a restart the book is intact and new orders flow
    for name in ("matcher-s0", "persister"):
        stack.restart(name)
    second = trader.api.post("/api/v1/order", BUY)
    assert second.status_code == 201, second.text
    # (a persister still starting answers 503 writes_not_persisted, Retry-After: 1)
    open_orders = wait_until(
        lambda: (r := trader.api.get("/api/v1/orders")).status_code == 200 and r.json(),
        timeout=30,
        what="the open orders readable once the restarted persister caught up",
    )
    open_ids = {o["order_id"] for o in open_orders}
    assert {first["order_id"], second.json()["order_id"]} <= open_ids
    log = stack.procs["matcher-s0"].log_path.read_text()
    assert "replayed 0 commands" in log
