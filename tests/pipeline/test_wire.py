"""The hot-path Redis client against the real Redis (test database)."""

from __future__ import annotations

import threading

import hiredis
import pytest
import redis
from django.conf import settings

from pipeline.wire import Wire, WireError

KEY = "wire-test:counter"


@pytest.fixture
def wire(rds: redis.Redis) -> Wire:
    rds.delete(KEY)
    return Wire(settings.REDIS_URL)


def test_commands_are_answered_in_order_in_one_call_on_the_configured_database(wire, rds):
    assert wire.call(("INCR", KEY), ("INCR", KEY), ("GET", KEY)) == [1, 2, b"2"]
    assert rds.get(KEY) == b"2"  # the URL's database, not db 0


def test_an_error_reply_is_returned_not_raised_and_the_connection_stays_usable(wire):
    wire.call(("SET", KEY, "not a number"))
    [error] = wire.call(("INCR", KEY))
    assert isinstance(error, hiredis.ReplyError)
    assert wire.call(("PING",)) == [b"PONG"]


def test_a_blocking_pop_waits_for_its_value_when_the_timeout_allows(wire, rds):
    pusher = threading.Timer(0.05, lambda: rds.lpush(KEY, b"v"))
    pusher.start()
    try:
        [got] = wire.call(("BLPOP", KEY, 2), timeout_s=3)
    finally:
        pusher.join()
    assert got == [KEY.encode(), b"v"]


def test_a_connection_closed_by_the_server_is_replaced_when_it_was_idle(wire, rds):
    [me] = wire.call(("CLIENT", "ID"))
    rds.client_kill_filter(_id=me)
    assert wire.call(("INCR", KEY)) == [1]  # retried once on a new connection
    [other] = wire.call(("CLIENT", "ID"))
    assert other != me


def test_an_unreachable_server_raises_a_redis_connection_error():
    with pytest.raises(redis.ConnectionError):
        Wire("redis://127.0.0.1:1/0", timeout_s=0.5).call(("PING",))
    assert issubclass(WireError, redis.ConnectionError)


def test_each_thread_has_its_own_connection(wire):
    ids: list[int] = []

    def client_id() -> None:
        ids.append(wire.call(("CLIENT", "ID"))[0])

    threads = [threading.Thread(target=client_id) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 3


def test_nothing_is_sent_twice_when_retries_are_off(rds):
    # The matcher's batch commit must never run twice: its Wire raises instead of retrying.
    wire = Wire.like(rds, retry=False)
    [me] = wire.call(("CLIENT", "ID"))
    rds.client_kill_filter(_id=me)
    with pytest.raises(WireError):
        wire.call(("INCR", KEY))
    assert rds.get(KEY) is None
    assert wire.call(("INCR", KEY)) == [1]  # the next call connects again


def test_a_wire_like_a_redis_py_client_uses_its_server_and_database(rds):
    wire = Wire.like(rds)
    wire.call(("SET", KEY, "same-db"))
    assert rds.get(KEY) == b"same-db"
