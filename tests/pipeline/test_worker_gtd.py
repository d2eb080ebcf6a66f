"""The matcher is the engine's clock: it logs a Tick when a GTD order is due, and a replay of the
log expires the same orders at the same place."""

from __future__ import annotations

import time
from typing import Any

import redis

from common.clock import now_ns
from matching.commands import Command, Deposit, PlaceOrder, Tick
from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import Event, OrderExpired
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.matcher_transport import MatcherTransport
from pipeline.packing import unpack_command
from pipeline.streams import parse_event_entry
from pipeline.transport import CommandLog
from pipeline.worker import Matcher
from tests.support.specs import SOL_USDC

FEE = 1
ALICE = 10
MS = 1_000_000


def _gtd(order_id: int, expire_ms: int) -> PlaceOrder:
    """Alice bids 1.00 SOL at 150.00 USDC, good till ``expire_ms``; stamped with the clock."""
    return PlaceOrder(
        f"p{order_id}", now_ns(), order_id, ALICE, "SOL_USDC", Side.BUY, OrderType.LIMIT,
        TimeInForce.GTD, 15000, 100, None, False, StpMode.EXPIRE_TAKER, None,
        expire_time=expire_ms,
    )  # fmt: skip


def _matcher(rds: redis.Redis, **options: Any) -> Matcher:
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE, block_ms=50, **options)
    matcher.recover()
    return matcher


def _drain(matcher: Matcher) -> None:
    while matcher.process(matcher.transport.read_batch(10, 10)):
        pass


def _funded(rds: redis.Redis) -> tuple[Matcher, CommandLog]:
    matcher = _matcher(rds)
    matcher.sync_markets([SOL_USDC], 1)
    log = CommandLog(rds)
    log.submit("t0", Deposit("d1", 2, "t1", ALICE, "USDC", 10**12), wait_s=0)
    _drain(matcher)
    return matcher, log


def _logged(rds: redis.Redis) -> list[Command]:
    entries: Any = rds.xrange("ex:{t0}:commands")
    return [unpack_command(fields[b"c"]) for _entry_id, fields in entries]


def _published(rds: redis.Redis) -> list[Event]:
    events: list[Event] = []
    entries: Any = rds.xrange("ex:{t0}:events")
    for entry_id, fields in entries:
        events.extend(parse_event_entry(entry_id, fields).events)
    return events


def _expired(events: list[Event]) -> list[tuple[int, EndReason]]:
    return [(ev.order_id, ev.reason) for ev in events if isinstance(ev, OrderExpired)]


def test_gtd_order_placed_through_the_log_expires_within_a_deadline(rds: redis.Redis) -> None:
    # given a running matcher and Alice's GTD order, due 300 ms from now, sent through the log
    matcher, log = _funded(rds)
    expire_ms = now_ns() // MS + 300
    log.submit("t0", _gtd(500, expire_ms), wait_s=0)
    seen: dict[str, list[Command]] = {}

    def expired_or_late() -> bool:
        if matcher.engine.order(500) is None and matcher.engine.seq > 3:
            seen["log"] = _logged(rds)  # before the clean stop's snapshot trims the log
            return True
        return time.monotonic() > deadline

    # when the matcher runs (its clean stop snapshots: the log is read first, above)
    deadline = time.monotonic() + 5.0
    matcher.run(expired_or_late)

    # then the order expired, after its expire time, by a Tick the matcher logged itself
    assert "log" in seen, "the GTD order did not expire within the deadline"
    published = _published(rds)
    assert _expired(published) == [(500, EndReason.GTD_EXPIRED)]
    ticks = [cmd for cmd in seen["log"] if isinstance(cmd, Tick)]
    assert len(ticks) == 1 and ticks[0].ts >= expire_ms * MS
    assert matcher.ticks_logged == 1 and matcher.tick_in_flight is None
    assert matcher.engine.balance(ALICE, "USDC") == (10**12, 0)
    # and Alice's next private read waits for the batch that expired her order, as for her own
    touched: Any = rds.hget(matcher.transport.keys.writes(ALICE), "touched")
    expired_in: Any = rds.xrevrange("ex:{t0}:events", count=1)
    assert touched is not None
    assert touched == parse_event_entry(*expired_in[0]).cmd_last

    # and a replay of the log gives the same events and the same state
    replayed = MatchingEngine(FEE)
    events = [ev for cmd in seen["log"] for ev in replayed.apply(cmd)]
    assert events == published
    assert replayed.state_hash() == matcher.engine.state_hash()


def test_restarted_matcher_applies_the_logged_tick_once_when_it_died_before_applying_it(
    rds: redis.Redis,
) -> None:
    # given a GTD order already due and a matcher that logged its Tick, then died
    clock = {"now": 0}
    matcher, log = _funded(rds)
    now = now_ns()
    log.submit("t0", _gtd(500, now // MS + 1), wait_s=0)
    log.submit("t0", _gtd(501, now // MS + 10_000), wait_s=0)
    _drain(matcher)
    first = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE, clock=lambda: clock["now"])
    first.recover()
    clock["now"] = now + 2 * MS
    assert first.log_due_tick()
    assert not first.log_due_tick()  # one in flight at most

    # when a new matcher recovers, drains the log and logs a Tick of its own meanwhile
    again = _matcher(rds, clock=lambda: clock["now"])
    assert again.log_due_tick()  # it cannot know of the dead one's Tick: a harmless second
    _drain(again)

    # then order 500 expired once, 501 still rests, the event stream is gap-free
    published = _published(rds)
    assert _expired(published) == [(500, EndReason.GTD_EXPIRED)]
    assert again.engine.order(501) is not None
    assert again.tick_in_flight is None
    assert [ev.seq for ev in published] == list(range(1, len(published) + 1))
    logged = _logged(rds)
    assert sum(isinstance(cmd, Tick) for cmd in logged) == 2
    replayed = MatchingEngine(FEE)
    assert [ev for cmd in logged for ev in replayed.apply(cmd)] == published
    assert replayed.state_hash() == again.engine.state_hash()


def test_no_tick_is_logged_when_nothing_is_due(rds: redis.Redis) -> None:
    # given a GTD order due in a minute and a matcher whose clock is a second before that
    matcher, log = _funded(rds)
    now = now_ns()
    log.submit("t0", _gtd(500, now // MS + 60_000), wait_s=0)
    _drain(matcher)
    before = rds.xlen("ex:{t0}:commands")
    clocked = _matcher(rds, clock=lambda: now + 59_000 * MS)
    # then nothing is logged, and the loop blocks no longer than until the expiry
    assert not clocked.log_due_tick()
    assert rds.xlen("ex:{t0}:commands") == before
    assert clocked.block_ms_now() == 50
    soon = _matcher(rds, clock=lambda: now + 59_990 * MS)
    assert 1 <= soon.block_ms_now() <= 11
