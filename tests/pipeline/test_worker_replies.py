"""What the matcher replies to a waiting sender: the outcome, not every balance and book move."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from accounts.models import User
from accounts.selectors import fee_account_id
from matching.commands import Command, Deposit, PlaceOrder
from matching.events import BalanceChanged, BookChanged, Event
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.keys import shard_keys
from pipeline.matcher_transport import MatcherTransport
from pipeline.packing import pack_command, unpack_events
from pipeline.worker import Matcher
from tests.support.pipeline import clear_id_caches
from trading.models import Market
from trading.specs import market_spec

pytestmark = pytest.mark.django_db(transaction=True)


def _order(cmd_id: str, order_id: int, account: int, side: Side) -> PlaceOrder:
    return PlaceOrder(
        cmd_id, 10 + order_id, order_id, account, "SOL_USDC", side, OrderType.LIMIT,
        TimeInForce.GTC, 15000, 100, None, False, StpMode.EXPIRE_TAKER, None,
    )  # fmt: skip


def _applied_with_reply(rds: redis.Redis, matcher: Matcher, cmd: Command) -> list[Event]:
    """Append ``cmd`` as a sender that waits would, let the matcher apply it, return the reply."""
    rds.xadd(shard_keys("t0").commands, {"c": pack_command(cmd), "r": "1"})
    while matcher.process(matcher.transport.read_batch(10, 10)):
        pass
    reply: Any = rds.lpop(shard_keys("t0").reply(cmd.command_id))
    assert reply is not None
    return unpack_events(reply)


def test_an_order_reply_has_its_outcome_without_balance_or_book_changes(
    rds: redis.Redis, markets: dict[str, Market], alice: User, bob: User
) -> None:
    # given alice resting a buy that bob's sell will fill
    clear_id_caches()
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(markets["SOL_USDC"])], 1)
    uuids = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222")
    _applied_with_reply(rds, matcher, Deposit("d1", 2, uuids[0], alice.pk, "USDC", 10**9))
    _applied_with_reply(rds, matcher, Deposit("d2", 3, uuids[1], bob.pk, "SOL", 10**10))
    _applied_with_reply(rds, matcher, _order("p1", 500, alice.pk, Side.BUY))

    # when bob's sell trades, and he waits for the reply
    reply = _applied_with_reply(rds, matcher, _order("p2", 501, bob.pk, Side.SELL))

    # then the reply says how the order went, and the events stream still has everything
    assert [type(ev).__name__ for ev in reply] == [
        "OrderAccepted", "TradeExecuted", "OrderFilled", "OrderFilled",
    ]  # fmt: skip
    entries: Any = rds.xrange(shard_keys("t0").events)
    streamed = [ev for _, fields in entries for ev in unpack_events(fields[b"e"])]
    assert any(type(ev) is BalanceChanged for ev in streamed)
    assert any(type(ev) is BookChanged for ev in streamed)
