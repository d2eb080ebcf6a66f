"""CommandLog.submit: the command, its reply and, for a cancel, the placeholders in one trip."""

from __future__ import annotations

import pytest
import redis

from matching.commands import CancelAll
from matching.transport import CommandLog, pack_events
from matching.wire import Wire


@pytest.fixture(params=["redis-py", "wire"])
def log(request: pytest.FixtureRequest, rds: redis.Redis) -> CommandLog:
    return CommandLog(rds, Wire.like(rds) if request.param == "wire" else None)


def test_placeholders_are_read_after_the_reply_when_asked_for(
    log: CommandLog, rds: redis.Redis
) -> None:
    # given an order placed but not yet persisted (its placeholder) and the matcher's reply
    rds.hset("ex:{t0}:pending:10", "7", b'{"order_id": 7}')
    rds.rpush("ex:{t0}:reply:c1", pack_events([]))

    # when a cancel is sent asking for the placeholders
    done = log.submit("t0", CancelAll("c1", 1, 10, None), wait_s=1, user=10, read_pending=True)

    # then its events and the user's placeholders on that shard come back together
    assert done.events == []
    assert done.pending == {7: b'{"order_id": 7}'}


def test_no_placeholders_are_read_when_the_matcher_did_not_answer(log: CommandLog) -> None:
    done = log.submit("t0", CancelAll("c2", 1, 10, None), wait_s=0.01, user=10, read_pending=True)
    assert (done.events, done.pending) == (None, None)
    assert done.entry_id
