"""A trigger changes an account on someone else's command: the matcher marks the triggered
order's owner as touched, so that owner's next private read waits for the batch to be recorded
(MatcherClient.read_barrier), as a maker's does."""

from __future__ import annotations

from typing import Any

import redis

from matching.commands import Deposit, PlaceOrder
from matching.events import OrderTriggered
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.matcher_transport import MatcherTransport
from pipeline.streams import parse_event_entry
from pipeline.transport import CommandLog
from pipeline.worker import Matcher
from tests.support.specs import SOL_USDC

FEE, ALICE, BOB, CAROL = 1, 10, 11, 12


def _order(order_id: int, account: int, side: Side, kind: OrderType, **fields: Any) -> PlaceOrder:
    """1.00 SOL; a limit's price 150.00 USDC unless given."""
    price = fields.pop("price", 15000 if kind is OrderType.LIMIT else None)
    return PlaceOrder(
        f"p{order_id}", 1, order_id, account, "SOL_USDC", side, kind, TimeInForce.GTC, price,
        100, None, False, StpMode.EXPIRE_TAKER, None, **fields,
    )  # fmt: skip


def test_the_owner_of_a_triggered_order_is_touched_by_the_batch_that_triggered_it(
    rds: redis.Redis,
) -> None:
    # given a matcher, three funded accounts, a last price of 150 and Alice's stop-market sell
    # at 149 waiting
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE, block_ms=50)
    matcher.recover()
    matcher.sync_markets([SOL_USDC], 1)
    log = CommandLog(rds)
    for n, account in enumerate((ALICE, BOB, CAROL)):
        log.submit("t0", Deposit(f"d{n}", 1, f"u{n}", account, "USDC", 10**12), wait_s=0)
        log.submit("t0", Deposit(f"s{n}", 1, f"b{n}", account, "SOL", 10**12), wait_s=0)
    log.submit("t0", _order(1, BOB, Side.SELL, OrderType.LIMIT), wait_s=0)
    log.submit("t0", _order(2, CAROL, Side.BUY, OrderType.MARKET), wait_s=0)
    log.submit("t0", _order(3, ALICE, Side.SELL, OrderType.STOP_MARKET, stop_price=14900), wait_s=0)
    log.submit("t0", _order(4, CAROL, Side.BUY, OrderType.LIMIT, price=14900), wait_s=0)
    while matcher.process(matcher.transport.read_batch(100, 10)):
        pass
    assert rds.hget(matcher.transport.keys.writes(ALICE), "touched") is None
    # when Bob's sell trades with Carol's bid at 149, which triggers Alice's stop
    log.submit("t0", _order(5, BOB, Side.SELL, OrderType.MARKET), wait_s=0)
    while matcher.process(matcher.transport.read_batch(100, 10)):
        pass
    # then the batch that triggered it marked Alice as touched
    entries: Any = rds.xrevrange("ex:{t0}:events", count=1)
    last = parse_event_entry(*entries[0])
    assert any(isinstance(ev, OrderTriggered) and ev.account == ALICE for ev in last.events)
    touched: Any = rds.hget(matcher.transport.keys.writes(ALICE), "touched")
    assert touched is not None and touched == last.cmd_last
