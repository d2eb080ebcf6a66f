"""In-process fan-out for the WebSocket server: one Redis pub/sub connection per process.

Why not a channel-layer group per stream: ``group_send`` costs a Redis operation per member and
each delivery wakes a consumer through the layer (shared/stack-notes.md: 6-9k frames/s per
process). Here the publisher serializes each frame once, Redis delivers it once per ASGI
process, and the hub hands the same ``str`` to every local subscriber's outbox.

Outbox: a bounded queue and one writer task per connection. ``push`` never awaits, so a slow
client cannot delay anyone: its queue fills and at ``limit`` frames it is closed with 4008
("too slow"); the socket buffer in front of it is bounded by the server's write high-water mark.
With ``combined`` (opt-in, ``/ws?combined=1``) the writer sends everything queued as one JSON
array frame, so a busy client costs fewer frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_UPSTREAM_LOST = 4010
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Outbox:
    def __init__(self, send: Send, *, limit: int, combined: bool = False) -> None:
        self._send = send
        self._queue: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.limit = limit
        self.combined = combined
        self.closing = False
        self.sent = 0
        self._task = asyncio.get_running_loop().create_task(self._write())

    def push(self, text: str) -> bool:
        """Queue one frame; False (and the connection closes) when the client is too slow."""
        if self.closing:
            return False
        if len(self._queue) >= self.limit:
            self.close(CLOSE_TOO_SLOW, "too slow")
            return False
        self._queue.append(text)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def reply(self, text: str) -> None:
        """A control reply: never refused for size (it answers the client's own request)."""
        if not self.closing:
            self._queue.append(text)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def close(self, code: int, reason: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        self._queue.clear()
        self._task.cancel()
        asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        # A client that stopped reading may never drain its socket: give up after a while
        # (the server's ping timeout then drops the TCP connection).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._send({"type": "websocket.close", "code": code, "reason": reason}), 5
            )

    def stop(self) -> None:
        self.closing = True
        self._queue.clear()
        self._task.cancel()

    async def _write(self) -> None:
        queue = self._queue
        send = self._send
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not queue:
                    self._waiter = loop.create_future()
                    await self._waiter
                    self._waiter = None
                    continue
                if self.combined and len(queue) > 1:
                    items = list(queue)
                    queue.clear()
                    text = "[" + ",".join(items) + "]"
                    self.sent += len(items)
                elif self.combined:
                    text = "[" + queue.popleft() + "]"
                    self.sent += 1
                else:
                    text = queue.popleft()
                    self.sent += 1
                await send({"type": "websocket.send", "text": text})
        except asyncio.CancelledError:
            pass
        except Exception:  # the client went away mid-send: the consumer's disconnect cleans up
            self.closing = True
            queue.clear()


class Hub:
    """Local subscriptions of one process, fed by one pub/sub connection."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.subs: dict[str, set[Outbox]] = {}
        self._client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._confirm: dict[str, asyncio.Future[None]] = {}

    async def _ensure(self) -> PubSub:
        if self._pubsub is None:
            self._client = aioredis.Redis.from_url(self.redis_url, socket_timeout=None)
            self._pubsub = self._client.pubsub()
            # A channel must exist before listen(): subscribe to a placeholder first.
            await self._pubsub.subscribe(f"md-hub-{id(self)}")
            self._reader = asyncio.get_running_loop().create_task(self._listen(self._pubsub))
        return self._pubsub

    async def subscribe(self, channel: str, box: Outbox) -> None:
        async with self._lock:
            pubsub = await self._ensure()
            members = self.subs.get(channel)
            if members is not None:
                members.add(box)
                return
            self.subs[channel] = {box}
            fut = asyncio.get_running_loop().create_future()
            self._confirm[channel] = fut
            await pubsub.subscribe(channel)
        # Answer the client only once Redis has it: nothing published afterwards is missed.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(fut), 5)

    async def unsubscribe(self, channel: str, box: Outbox) -> None:
        async with self._lock:
            members = self.subs.get(channel)
            if members is None:
                return
            members.discard(box)
            if not members:
                del self.subs[channel]
                if self._pubsub is not None:
                    await self._pubsub.unsubscribe(channel)

    async def _listen(self, pubsub: PubSub) -> None:
        try:
            while True:
                msg = await pubsub.get_message(timeout=None)
                if msg is None:
                    continue
                kind = msg["type"]
                channel = msg["channel"].decode()
                if kind == "message":
                    members = self.subs.get(channel)
                    if members:
                        text = msg["data"].decode()
                        for box in tuple(members):
                            box.push(text)
                elif kind == "subscribe":
                    fut = self._confirm.pop(channel, None)
                    if fut is not None and not fut.done():
                        fut.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("market-data pub/sub connection lost: closing local clients")
            self._lose_all()

    def _lose_all(self) -> None:
        """Messages were lost: close every client so it reconnects and re-snapshots."""
        boxes = {box for members in self.subs.values() for box in members}
        self.subs.clear()
        for fut in self._confirm.values():
            if not fut.done():
                fut.set_result(None)
        self._confirm.clear()
        self._pubsub = None
        for box in boxes:
            box.close(CLOSE_UPSTREAM_LOST, "market data interrupted")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for(redis_url: str) -> Hub:
    """The hub of the running event loop (one per server process; tests get one per loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(redis_url)
    return hub
