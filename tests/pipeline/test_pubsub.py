"""The hub's pub/sub connection on the lean client: confirmations, messages in order, loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
from django.conf import settings

from pipeline.pubsub import Subscriber
from pipeline.wire import WireError


async def _next(messages: AsyncIterator[list[bytes]]) -> list[bytes]:
    return await asyncio.wait_for(anext(messages), 5)


def test_a_subscription_is_confirmed_before_what_is_published_after_it(rds: redis.Redis) -> None:
    async def go() -> list[list[bytes]]:
        sub = Subscriber(settings.REDIS_URL)
        await sub.connect()
        try:
            messages = sub.messages()
            await sub.subscribe("pubsub-test")
            got = [await _next(messages)]
            rds.publish("pubsub-test", "one")
            rds.publish("pubsub-test", "two")
            got += [await _next(messages), await _next(messages)]
            await sub.unsubscribe("pubsub-test")
            got.append(await _next(messages))
            return got
        finally:
            await sub.aclose()

    assert asyncio.run(go()) == [
        [b"subscribe", b"pubsub-test", 1],
        [b"message", b"pubsub-test", b"one"],
        [b"message", b"pubsub-test", b"two"],
        [b"unsubscribe", b"pubsub-test", 0],
    ]


def test_a_lost_connection_ends_the_messages_with_a_wire_error(rds: redis.Redis) -> None:
    async def go() -> None:
        sub = Subscriber(settings.REDIS_URL)
        await sub.connect()
        messages = sub.messages()
        await sub.subscribe("pubsub-test-lost")
        await _next(messages)
        host, port = sub._writer.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
        rds.client_kill_filter(addr=f"{host}:{port}")  # this connection only: Redis is shared
        with pytest.raises(WireError):
            await _next(messages)
        await sub.aclose()

    asyncio.run(go())


def test_a_server_that_does_not_answer_is_a_wire_error() -> None:
    async def go() -> None:
        with pytest.raises(WireError):
            await Subscriber("redis://127.0.0.1:1/0").connect()

    asyncio.run(go())
