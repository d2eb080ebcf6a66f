"""The matcher recovers to exactly the state and event stream of an uninterrupted run."""

from __future__ import annotations

from typing import Any

import redis

from matching.commands import Deposit, PlaceOrder
from matching.engine import MatchingEngine
from matching.events import Event
from matching.types import OrderType, Side, StpMode, TimeInForce
from pipeline.matcher_transport import MatcherTransport
from pipeline.packing import unpack_command
from pipeline.streams import parse_event_entry
from pipeline.transport import CommandLog
from pipeline.worker import Matcher, RecoveryError
from tests.support.specs import SOL_USDC

FEE = 1


def _drain(matcher: Matcher, count: int = 3) -> None:
    while matcher.process(matcher.transport.read_batch(count, 10)):
        pass


def _orders(log: CommandLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        log.submit(
            "t0",
            PlaceOrder(
                f"p{i}",
                100 + i,
                1000 + i,
                10 + i % 2,
                "SOL_USDC",
                side,
                OrderType.LIMIT,
                TimeInForce.GTC,
                15000 - i % 3,
                1 + i % 4,
                None,
                False,
                StpMode.EXPIRE_TAKER,
                None,
            ),
            wait_s=0,
        )


def _funded(rds: redis.Redis) -> tuple[Matcher, CommandLog]:
    matcher = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE)
    matcher.recover()
    matcher.sync_markets([SOL_USDC], 1)
    log = CommandLog(rds)
    log.submit("t0", Deposit("d1", 2, "t1", 10, "USDC", 10**12), wait_s=0)
    log.submit("t0", Deposit("d2", 3, "t2", 11, "SOL", 10**13), wait_s=0)
    _drain(matcher)
    return matcher, log


def _all_events(rds: redis.Redis) -> list[Event]:
    events: list[Event] = []
    entries: Any = rds.xrange("ex:{t0}:events")
    for entry_id, fields in entries:
        events.extend(parse_event_entry(entry_id, fields).events)
    return events


def _straight_run(rds: redis.Redis) -> MatchingEngine:
    """The same commands applied in one go, from the log, with no crash."""
    engine = MatchingEngine(FEE)
    entries: Any = rds.xrange("ex:{t0}:commands")
    for _entry_id, fields in entries:
        engine.apply(unpack_command(fields[b"c"]))
    return engine


def test_recovery_replays_without_re_emitting_when_a_batch_was_delivered_but_not_committed(
    rds: redis.Redis,
) -> None:
    # given a matcher that committed some batches and then died holding an uncommitted one
    matcher, log = _funded(rds)
    _orders(log, 20)
    matcher.process(matcher.transport.read_batch(7, 10))
    matcher.transport.read_batch(5, 10)  # delivered, never committed: the crash

    # when a new matcher recovers and drains the log (compared with a straight run of that log,
    # taken first: a clean stop snapshots and trims what the snapshot covers)
    expected = _straight_run(rds).state_hash()
    again = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE)
    again.recover()
    again.run(lambda: again.stats.commands >= 13)

    # then the event stream is gap-free and duplicate-free, and the state is a straight run's
    seqs = [ev[0] for ev in _all_events(rds)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert again.engine.state_hash() == expected
    assert rds.xpending("ex:{t0}:commands", "matcher")["pending"] == 0


def test_recovery_starts_from_the_snapshot_when_one_exists(rds: redis.Redis) -> None:
    matcher, log = _funded(rds)
    _orders(log, 10)
    _drain(matcher)
    matcher.save_snapshot()
    _orders(log, 10, start=10)
    _drain(matcher)
    expected = matcher.engine.state_hash()

    again = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE)
    again.recover()

    assert again.engine.state_hash() == expected
    assert again.stats.replayed == 10  # only the commands after the snapshot


def test_recovery_refuses_to_run_when_the_log_lost_committed_commands(rds: redis.Redis) -> None:
    matcher, log = _funded(rds)
    _orders(log, 5)
    _drain(matcher)
    rds.delete("ex:{t0}:commands")  # e.g. Redis restarted without its AOF

    again = Matcher(MatcherTransport(rds, "t0", "matcher"), FEE)
    try:
        again.recover()
    except RecoveryError:
        pass
    else:
        raise AssertionError("recovery must refuse a log that cannot reach the committed seq")


def test_replies_reach_the_waiting_caller_when_the_matcher_answers(rds: redis.Redis) -> None:
    matcher, log = _funded(rds)
    entry, events, *_ = log.submit("t0", Deposit("d3", 9, "t3", 12, "USDC", 5), wait_s=0.01)
    assert events is None  # nobody processed it yet: the caller would answer 202
    _drain(matcher)
    replied = rds.blpop(["ex:{t0}:reply:d3"], timeout=1)
    assert replied is not None
    assert entry


def test_a_batch_without_events_still_moves_the_marker_when_the_command_was_a_no_op(
    rds: redis.Redis,
) -> None:
    # given a deposit applied once
    matcher, log = _funded(rds)
    before = rds.xlen("ex:{t0}:events")

    # when the same transfer is sent again (a pure no-op: no events at all)
    entry_id = log.submit("t0", Deposit("d9", 9, "t1", 10, "USDC", 10**12), wait_s=0).entry_id
    _drain(matcher)

    # then an (empty) events entry still covers it, so a reader waiting for this write is freed
    assert rds.xlen("ex:{t0}:events") == before + 1
    newest: Any = rds.xrevrange("ex:{t0}:events", count=1)
    last_id, fields = newest[0]
    batch = parse_event_entry(last_id, fields)
    assert batch.events == []
    assert batch.cmd_last.decode() == entry_id
    assert batch.last_seq == matcher.engine.seq


def test_a_clean_stop_drops_the_heartbeat_when_the_loop_ends(rds: redis.Redis) -> None:
    # given a matcher that has beaten at least once
    matcher, _ = _funded(rds)
    beats = iter([False, True])
    matcher.run(lambda: next(beats))
    assert matcher.stats.batches >= 1

    # then, stopped on purpose, it no longer looks alive (a restart is seen once it beats)
    assert not rds.exists(matcher.transport.keys.heartbeat)
