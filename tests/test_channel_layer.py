import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


@pytest.mark.integration
def test_channel_layer_delivers_a_group_message_when_redis_is_configured():
    # given the configured Redis channel layer (hosts given as a dict: redis-py 8 pitfall)
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("test-group", channel)
        await layer.group_send("test-group", {"type": "hello", "n": 1})
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await layer.group_discard("test-group", channel)

    # when a message is sent to a group, then its member receives it
    assert async_to_sync(round_trip)() == {"type": "hello", "n": 1}
