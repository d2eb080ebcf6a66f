"""The publisher's asyncio Redis client against the real Redis (test database)."""

from __future__ import annotations

import asyncio

import hiredis
import pytest
import redis
from django.conf import settings

from pipeline.wire import AsyncWire, WireError

KEY = "async-wire-test:counter"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def fresh(rds: redis.Redis) -> redis.Redis:
    rds.delete(KEY)
    return rds


def test_commands_are_answered_in_order_in_one_call_on_the_configured_database(fresh):
    async def go() -> list[object]:
        wire = AsyncWire(settings.REDIS_URL)
        try:
            return await wire.call(("INCR", KEY), ("INCR", KEY), ("GET", KEY))
        finally:
            await wire.aclose()

    assert run(go()) == [1, 2, b"2"]
    assert fresh.get(KEY) == b"2"  # the URL's database, not db 0


def test_an_error_reply_is_returned_not_raised_and_the_connection_stays_usable(fresh):
    async def go() -> tuple[object, list[object]]:
        wire = AsyncWire(settings.REDIS_URL)
        try:
            await wire.call(("SET", KEY, "not a number"))
            [error] = await wire.call(("INCR", KEY))
            return error, await wire.call(("PING",))
        finally:
            await wire.aclose()

    error, pong = run(go())
    assert isinstance(error, hiredis.ReplyError)
    assert pong == [b"PONG"]


def test_a_reply_larger_than_one_read_is_assembled(fresh):
    big = b"x" * 300_000

    async def go() -> list[object]:
        wire = AsyncWire(settings.REDIS_URL)
        try:
            return await wire.call(("SET", KEY, big), ("GET", KEY))
        finally:
            await wire.aclose()

    assert run(go()) == [b"OK", big]


def test_a_connection_killed_by_the_server_raises_and_the_next_call_reconnects(fresh):
    async def go() -> tuple[int, int]:
        wire = AsyncWire(settings.REDIS_URL)
        try:
            [me] = await wire.call(("CLIENT", "ID"))
            fresh.client_kill_filter(_id=me)
            with pytest.raises(WireError):
                await wire.call(("PING",))
            [other] = await wire.call(("CLIENT", "ID"))
            return me, other
        finally:
            await wire.aclose()

    me, other = run(go())
    assert other != me


def test_a_call_that_outlives_its_timeout_raises_a_redis_connection_error(fresh):
    async def go() -> None:
        wire = AsyncWire(settings.REDIS_URL)
        try:
            await wire.call(("BLPOP", KEY, 5), timeout_s=0.1)
        finally:
            await wire.aclose()

    with pytest.raises(redis.ConnectionError):
        run(go())


def test_an_unreachable_server_raises_a_redis_connection_error():
    with pytest.raises(redis.ConnectionError):
        run(AsyncWire("redis://127.0.0.1:1/0", timeout_s=0.5).call(("PING",)))
