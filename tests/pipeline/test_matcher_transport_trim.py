"""The matcher trims the events stream behind its slowest reader (at each snapshot)."""

from __future__ import annotations

from typing import Any

import redis

from pipeline.matcher_transport import MatcherTransport
from pipeline.streams import PERSISTER_GROUP, PUBLISHER_GROUP

EVENTS = "ex:{t0}:events"


def _batches(transport: MatcherTransport, n: int) -> list[bytes]:
    for i in range(n):
        transport.commit_batch([], f"{i + 1}-0".encode(), 0, [], [])
    return _ids(transport.client.xrange(EVENTS))


def _ids(entries: Any) -> list[bytes]:
    return [entry_id for entry_id, _ in entries]


def _read(rds: redis.Redis, group: str, count: int) -> list[bytes]:
    got: Any = rds.xreadgroup(group, "c", {EVENTS: ">"}, count=count)
    return _ids(got[0][1])


def test_events_are_kept_from_the_oldest_one_a_reader_has_not_acked_when_trimmed(
    rds: redis.Redis, transport: MatcherTransport
) -> None:
    # given five batches; the persister was delivered four and acked three, the publisher all
    transport.setup()
    ids = _batches(transport, 5)
    delivered = _read(rds, PERSISTER_GROUP, 4)
    rds.xack(EVENTS, PERSISTER_GROUP, *delivered[:3])
    rds.xack(EVENTS, PUBLISHER_GROUP, *_read(rds, PUBLISHER_GROUP, 5))

    # when the matcher trims
    dropped = transport.trim_events()

    # then what the persister still holds pending, and what follows, stays
    assert dropped == 3
    assert _ids(rds.xrange(EVENTS)) == ids[3:]


def test_nothing_is_trimmed_when_a_reader_has_not_read_yet(
    rds: redis.Redis, transport: MatcherTransport
) -> None:
    transport.setup()
    _batches(transport, 3)
    rds.xack(EVENTS, PERSISTER_GROUP, *_read(rds, PERSISTER_GROUP, 3))  # publisher: nothing
    assert transport.trim_events() == 0
    assert rds.xlen(EVENTS) == 3
