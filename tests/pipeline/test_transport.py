"""CommandLog.submit: the command, its reply and, for a cancel, the placeholders in one trip."""

from __future__ import annotations

import time

import pytest
import redis

from matching.commands import CancelAll, CancelOrder
from pipeline.packing import pack_events
from pipeline.transport import CommandLog, RateLimit, SubmitGuards
from pipeline.wire import Wire


@pytest.fixture(params=["redis-py", "wire"])
def log(request: pytest.FixtureRequest, rds: redis.Redis) -> CommandLog:
    return CommandLog(rds, Wire.like(rds) if request.param == "wire" else None)


def test_placed_orders_are_read_after_the_reply_when_asked_for(
    log: CommandLog, rds: redis.Redis
) -> None:
    # given two open orders as placed and the matcher's reply to a cancel-all
    rds.hset("ex:{t0}:placed:10", mapping={"7": b'{"order_id": 7}', "8": b'{"order_id": 8}'})
    rds.rpush("ex:{t0}:reply:c1", pack_events([]))

    # when the cancel-all is sent asking for the placed orders
    done = log.submit(
        "t0", CancelAll("c1", 1, 10, None), SubmitGuards(writer=10, read_placed=True), wait_s=1
    )

    # then its events and the user's placed orders on that shard come back together
    assert done.events == []
    assert done.placed == {7: b'{"order_id": 7}', 8: b'{"order_id": 8}'}


def test_one_placed_order_is_read_when_a_cancel_names_it(log: CommandLog, rds: redis.Redis) -> None:
    rds.hset("ex:{t0}:placed:12", mapping={"7": b'{"order_id": 7}', "8": b'{"order_id": 8}'})
    for command_id, order_id, want in (("c3", 8, {8: b'{"order_id": 8}'}), ("c4", 9, {})):
        rds.rpush(f"ex:{{t0}}:reply:{command_id}", pack_events([]))
        cmd = CancelOrder(command_id, 1, 12, "SOL_USDC", order_id, None)
        done = log.submit("t0", cmd, SubmitGuards(writer=12, read_placed=order_id), wait_s=1)
        assert done.placed == want  # only the one asked for; an unknown id finds nothing


def test_an_order_is_written_to_the_placed_hash_with_its_placeholder_when_submitted(
    log: CommandLog, rds: redis.Redis
) -> None:
    rds.delete("ex:{t0}:placed:13", "ex:{t0}:pending:13")
    cmd = CancelAll("c5", 1, 13, None)  # any command: the placeholder rides along
    log.submit("t0", cmd, SubmitGuards(writer=13, placeholder=(21, b'{"order_id": 21}')), wait_s=0)
    assert rds.hget("ex:{t0}:placed:13", "21") == b'{"order_id": 21}'
    assert rds.hget("ex:{t0}:pending:13", "21") == b'{"order_id": 21}'
    assert 0 < rds.pttl("ex:{t0}:placed:13") <= 86_400_000


def test_no_placed_orders_are_read_when_the_matcher_did_not_answer(log: CommandLog) -> None:
    done = log.submit(
        "t0", CancelAll("c2", 1, 10, None), SubmitGuards(writer=10, read_placed=True), wait_s=0.01
    )
    assert (done.events, done.placed) == (None, None)
    assert done.entry_id


def test_a_rate_limited_submit_counts_and_appends_until_its_limit(
    log: CommandLog, rds: redis.Redis
) -> None:
    # given a limit of two requests in the window
    limit = RateLimit("ex:throttle:test:u10:1", 2, 61)
    rds.delete(limit.key)
    before = rds.xlen("ex:{t0}:commands")

    # when three commands are submitted with it
    done = [
        log.submit(
            "t0",
            CancelAll(f"r{i}", 1, 10, None),
            SubmitGuards(writer=10, rate_limit=limit),
            wait_s=0,
        )
        for i in range(3)
    ]

    # then two are appended and counted, the third is refused and appended nowhere
    assert [d.throttled for d in done] == [False, False, True]
    assert done[2].entry_id == "" and done[2].events is None
    assert rds.xlen("ex:{t0}:commands") == before + 2
    assert rds.get(limit.key) == b"3"
    assert 0 < rds.ttl(limit.key) <= 61


def test_a_refused_submit_returns_at_once_when_it_would_have_waited_for_a_reply(
    log: CommandLog, rds: redis.Redis
) -> None:
    # given a limit already spent
    limit = RateLimit("ex:throttle:test:u11:1", 1, 61)
    rds.set(limit.key, 1)

    # when a command that waits up to 5 s for its reply is refused
    started = time.monotonic()
    done = log.submit(
        "t0", CancelAll("w1", 1, 11, None), SubmitGuards(writer=11, rate_limit=limit), wait_s=5
    )

    # then it does not wait for a reply that will never come
    assert done.throttled
    assert time.monotonic() - started < 1.0
