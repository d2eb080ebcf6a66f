"""The /ws consumer through the real ASGI stack (origin check, session auth, router) with
Channels' WebsocketCommunicator and the real Redis pub/sub: protocol, errors, caps, auth and
private isolation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from accounts.keys import api_key_secret
from exchange_site.asgi import application
from marketdata import groups
from tests import factories

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PREFIX = groups.prefix_for(settings.REDIS_URL)


def run(scenario):
    return async_to_sync(scenario)()


async def connect(path="/ws", headers=None):
    comm = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await comm.connect()
    assert connected
    return comm


async def ask(comm, frame, timeout=3):
    await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await comm.receive_from(timeout))


async def publish(channel, stream, data):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        return await client.publish(channel, json.dumps({"stream": stream, "data": data}))
    finally:
        await client.aclose()


def auth_params(key, secret, ts=None):
    ts = str(ts if ts is not None else time.time_ns() // 1_000_000)
    sig = hmac.new(secret.encode(), f"{ts}AUTH".encode(), hashlib.sha256).hexdigest()
    return {"api_key": key.key_id, "timestamp": ts, "signature": sig}


@pytest.fixture
def market(markets):
    return markets["SOL_USDC"]


def test_subscribe_then_messages_arrive_when_the_publisher_sends(market):
    async def scenario():
        comm = await connect()
        assert await ask(comm, {"method": "SUBSCRIBE", "params": ["trade.SOL_USDC"], "id": 1}) == {
            "id": 1,
            "result": None,
        }
        await publish(f"{PREFIX}trade.SOL_USDC", "trade.SOL_USDC", {"e": "trade", "t": 7})
        got = json.loads(await comm.receive_from(3))
        assert got == {"stream": "trade.SOL_USDC", "data": {"e": "trade", "t": 7}}
        listed = await ask(comm, {"method": "LIST_SUBSCRIPTIONS", "id": "x"})
        assert listed == {"id": "x", "result": ["trade.SOL_USDC"]}
        await ask(comm, {"method": "UNSUBSCRIBE", "params": ["trade.SOL_USDC"], "id": 2})
        await publish(f"{PREFIX}trade.SOL_USDC", "trade.SOL_USDC", {"e": "trade", "t": 8})
        assert await comm.receive_nothing(0.3)
        await comm.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[" * 3000, "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"method": "FLY", "id": 1}', "unknown_method"),
        ('{"method": "SUBSCRIBE", "params": "trade.SOL_USDC", "id": 1}', "invalid_params"),
        ('{"method": "SUBSCRIBE", "params": [], "id": 1}', "invalid_params"),
        ('{"method": "SUBSCRIBE", "params": [42], "id": 1}', "unknown_stream"),
        ('{"method": "SUBSCRIBE", "params": ["trade.NOPE_USDC"], "id": 1}', "unknown_stream"),
        ('{"method": "SUBSCRIBE", "params": ["kline.7m.SOL_USDC"], "id": 1}', "unknown_stream"),
        ('{"method": "SUBSCRIBE", "params": ["orders"], "id": 1}', "unauthenticated"),
        ('{"method": "SUBSCRIBE", "params": ["balances"], "id": 1}', "unauthenticated"),
        ('{"method": "PING", "id": {"a": 1}}', "invalid_id"),
        ('{"method": "PING", "id": true}', "invalid_id"),
    ],
)
def test_a_bad_frame_gets_an_error_reply_and_the_connection_lives_when_sent(market, frame, code):
    async def scenario():
        comm = await connect()
        reply = await ask(comm, frame)
        assert reply["error"]["code"] == code, reply
        assert set(reply["error"]) == {"code", "message"}
        assert await ask(comm, {"method": "PING", "id": 9}) == {"id": 9, "result": "pong"}
        await comm.disconnect()

    run(scenario)


def test_a_binary_frame_gets_an_error_reply_when_sent(market):
    async def scenario():
        comm = await connect()
        await comm.send_to(bytes_data=b"\x00\x01")
        reply = json.loads(await comm.receive_from(3))
        assert reply == {
            "id": None,
            "error": {"code": "invalid_frame", "message": reply["error"]["message"]},
        }
        await comm.disconnect()

    run(scenario)


def test_subscriptions_are_capped_when_a_client_asks_for_too_many(market, settings):
    settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS = 3

    async def scenario():
        comm = await connect()
        streams = ["trade.SOL_USDC", "depth.SOL_USDC", "ticker.SOL_USDC", "kline.1m.SOL_USDC"]
        reply = await ask(comm, {"method": "SUBSCRIBE", "params": streams, "id": 1})
        assert reply["error"]["code"] == "too_many_subscriptions"
        listed = await ask(comm, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert listed["result"] == []  # all or nothing
        await comm.disconnect()

    run(scenario)


def test_a_too_large_frame_gets_an_error_then_1009_when_sent(market, settings):
    settings.MARKETDATA_WS_MAX_FRAME_BYTES = 100

    async def scenario():
        comm = await connect()
        reply = await ask(comm, json.dumps({"method": "PING", "id": "x" * 200}))
        assert reply["error"]["code"] == "frame_too_large"
        closed = await comm.receive_output(3)
        assert closed == {"type": "websocket.close", "code": 1009, "reason": "frame too large"}

    run(scenario)


def test_a_flood_of_requests_is_refused_then_closed_with_4029_when_sustained(market, settings):
    settings.MARKETDATA_WS_REQUESTS_PER_S = 2

    async def scenario():
        comm = await connect()
        codes = []
        for i in range(12):
            await comm.send_to(text_data=json.dumps({"method": "PING", "id": i}))
        while True:
            out = await comm.receive_output(3)
            if out["type"] == "websocket.close":
                assert out["code"] == 4029
                break
            body = json.loads(out["text"])
            codes.append(body.get("error", {}).get("code"))
        assert "too_many_requests" in codes

    run(scenario)


def test_auth_with_a_valid_signature_unlocks_own_private_streams_only(market, alice, bob):
    key, _ = factories.make_api_key(alice, "read")

    async def scenario():
        comm = await connect()
        reply = await ask(
            comm, {"method": "AUTH", "params": auth_params(key, api_key_secret(key)), "id": 1}
        )
        assert reply == {"id": 1, "result": {"authenticated": True}}
        reply = await ask(comm, {"method": "SUBSCRIBE", "params": ["orders", "balances"], "id": 2})
        assert reply == {"id": 2, "result": None}
        await publish(f"{PREFIX}u:{bob.pk}:orders", "orders", {"e": "order", "order_id": 1})
        await publish(f"{PREFIX}u:{alice.pk}:orders", "orders", {"e": "order", "order_id": 2})
        got = json.loads(await comm.receive_from(3))
        assert got["data"]["order_id"] == 2
        assert await comm.receive_nothing(0.3)
        await comm.disconnect()

    run(scenario)


@pytest.mark.parametrize("problem", ["stale", "bad_signature", "unknown_key", "revoked", "no_read"])
def test_auth_failure_answers_a_code_then_closes_4001_when_the_proof_is_wrong(
    market, alice, problem
):
    key, _ = factories.make_api_key(alice, "trade" if problem == "no_read" else "read")
    params = auth_params(key, api_key_secret(key))
    expected = {
        "stale": "stale_timestamp",
        "bad_signature": "invalid_signature",
        "unknown_key": "invalid_api_key",
        "revoked": "invalid_api_key",
        "no_read": "permission_denied",
    }[problem]
    if problem == "stale":
        params = auth_params(key, api_key_secret(key), ts=time.time_ns() // 1_000_000 - 60_000)
    elif problem == "bad_signature":
        params["signature"] = "0" * 64
    elif problem == "unknown_key":
        params["api_key"] = "f" * 32
    elif problem == "revoked":
        from django.utils import timezone

        key.revoked_at = timezone.now()
        key.save()

    async def scenario():
        comm = await connect()
        reply = await ask(comm, {"method": "AUTH", "params": params, "id": 3})
        assert reply["error"]["code"] == expected
        closed = await comm.receive_output(3)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4001)

    run(scenario)


def test_a_logged_in_session_unlocks_private_streams_when_its_cookie_is_sent(market, alice, client):
    client.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def scenario():
        comm = await connect(
            headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1:8000")]
        )
        reply = await ask(comm, {"method": "SUBSCRIBE", "params": ["balances"], "id": 1})
        assert reply == {"id": 1, "result": None}
        await publish(f"{PREFIX}u:{alice.pk}:balances", "balances", {"e": "balance"})
        assert json.loads(await comm.receive_from(3))["stream"] == "balances"
        await comm.disconnect()

    run(scenario)


def test_a_foreign_browser_origin_is_refused_when_connecting(market):
    async def scenario():
        comm = WebsocketCommunicator(
            application, "/ws", headers=[(b"origin", b"https://evil.example")]
        )
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_a_client_that_falls_too_far_behind_is_closed_with_4008_and_others_still_receive(
    market, settings
):
    settings.MARKETDATA_WS_SEND_QUEUE = 5
    channel = f"{PREFIX}trade.SOL_USDC"

    async def scenario():
        from marketdata.hub import hub_for

        hub = hub_for(settings.REDIS_URL)
        slow = await connect()
        await ask(slow, {"method": "SUBSCRIBE", "params": ["trade.SOL_USDC"], "id": 1})
        (slow_box,) = hub.subs[channel]
        # The communicator's output queue is unbounded: make the slow client's sends hang the
        # way a full socket does.
        real_send, never = slow_box._send, asyncio.Event()

        async def stuck(message):
            if message["type"] == "websocket.close":
                return await real_send(message)
            await never.wait()

        slow_box._send = stuck
        slow_box._task.cancel()
        slow_box._task = asyncio.get_running_loop().create_task(slow_box._write())
        fast = await connect()
        await ask(fast, {"method": "SUBSCRIBE", "params": ["trade.SOL_USDC"], "id": 1})
        for i in range(20):
            await publish(channel, "trade.SOL_USDC", {"t": i})
        received = [json.loads(await fast.receive_from(3))["data"]["t"] for _ in range(20)]
        assert received == list(range(20))
        assert slow_box.closing
        closed = await slow.receive_output(3)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4008)
        await fast.disconnect()

    run(scenario)
