"""In-process fan-out for the WebSocket server: one Redis pub/sub connection per process.

Why not a channel-layer group per stream: ``group_send`` costs a Redis operation per member and
each delivery wakes a consumer through the layer (shared/stack-notes.md: 6-9k frames/s per
process). Here the publisher serializes each frame once, Redis delivers it once per ASGI
process, and the hub hands the same message to every local subscriber's outbox.

Outbox: what one connection has not been able to send yet, bounded. ``push`` never awaits, so
a slow client cannot delay anyone: its queue fills and at ``limit`` frames it is closed with
4008 ("too slow"). Two ways out:

* Direct (uvicorn's sans-I/O WebSocket protocol, no compression negotiated): a server-to-client
  frame is the same bytes for every connection (unmasked, uncompressed), so each message is
  framed once (``Message.frame``) and written straight to each socket's transport, all frames
  of one pub/sub burst in one write (``_Flusher``); the writer task only runs while a socket is
  paused (its buffer above the high-water mark). No task switch, no per-client framing.
* ASGI (any other server, the test communicator, permessage-deflate): ``await send(...)`` from
  the connection's writer task, as Channels would.

With ``combined`` (opt-in, ``/ws?combined=1``) whatever is queued goes out as one JSON array.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.sessions import InstanceSessionWrapper

# The direct path needs uvicorn's sans-I/O protocol (uvicorn[standard] is pinned); any other
# server gets the ASGI path.
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pipeline.pubsub import Subscriber

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_UPSTREAM_LOST = 4010
Send = Callable[[dict[str, Any]], Awaitable[None]]


def ws_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (RFC 6455 5.2) as a server sends it."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


class Message:
    """One frame's text, and its wire bytes built on first use and shared by every client."""

    __slots__ = ("_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = ws_frame(self.text.encode())
        return self._frame


def direct_protocol(send: Send) -> Any | None:
    """uvicorn's protocol object behind ``send`` when frames may be written to it directly."""
    fn: Any = send
    owner = getattr(fn, "__self__", None)
    while isinstance(owner, InstanceSessionWrapper):  # Channels' session middleware wrapper
        fn = owner.real_send
        owner = getattr(fn, "__self__", None)
    if not isinstance(owner, WebSocketsSansIOProtocol):
        return None
    if owner.conn.extensions:  # permessage-deflate: frames differ per connection
        return None
    return owner


class _Flusher:
    """Writes every outbox touched during one event-loop pass at the end of that pass.

    The hub reads all pub/sub messages Redis has already sent before it yields, so the frames
    one client gets from one burst (a publisher read: trades, depth, klines) leave in a single
    ``transport.write``: one syscall and one TCP segment per client instead of one per message.
    It adds no delay: the callback runs as soon as the burst is handled.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list[Outbox] = []

    def mark(self, box: Outbox) -> None:
        if not self.dirty:
            self.loop.call_soon(self.flush)
        self.dirty.append(box)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for box in dirty:
            box.flush()


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def _flusher() -> _Flusher:
    loop = asyncio.get_running_loop()
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


class Outbox:
    def __init__(
        self, send: Send, *, limit: int, combined: bool = False, direct: bool = True
    ) -> None:
        self._send = send
        self._proto = direct_protocol(send) if direct else None
        self._flusher = _flusher()
        self._pending: list[Message] = []  # direct path: written at the end of this loop pass
        self._dirty = False
        self._queue: deque[Message] = deque()  # waiting for the socket (or the ASGI writer)
        self._waiter: asyncio.Future[None] | None = None
        self.limit = limit
        self.combined = combined
        self.closing = False
        self.sent = 0
        self._close_after: tuple[int, str] | None = None
        self._task = asyncio.get_running_loop().create_task(self._write())

    @property
    def direct(self) -> bool:
        return self._proto is not None

    def push(self, msg: Message) -> bool:
        """Queue one frame; False (and the connection closes) if the client is too slow."""
        if self.closing:
            return False
        if len(self._queue) + len(self._pending) >= self.limit:
            self.close(CLOSE_TOO_SLOW, "too slow")
            return False
        self._add(msg)
        return True

    def reply(self, text: str) -> None:
        """A control reply: never refused for size (it answers the client's own request)."""
        if not self.closing:
            self._add(Message(text))

    def _add(self, msg: Message) -> None:
        if self._proto is not None:
            self._pending.append(msg)
            if not self._dirty:
                self._dirty = True
                self._flusher.mark(self)
        else:
            self._queue.append(msg)
            self._wake()

    def flush(self) -> None:
        """Direct path: write what this loop pass produced, or hand it to the writer task if
        the socket is paused (or earlier frames still wait)."""
        self._dirty = False
        pending, self._pending = self._pending, []
        proto = self._proto
        if self.closing or not pending or proto is None:
            return
        if not self._queue and proto.writable.is_set() and not proto.close_sent:
            if proto.disconnected:
                return
            if self.combined:
                proto.transport.write(_combined(pending).frame)
            elif len(pending) == 1:
                proto.transport.write(pending[0].frame)
            else:
                proto.transport.write(b"".join([m.frame for m in pending]))
            self.sent += len(pending)
            return
        self._queue.extend(pending)
        self._wake()

    def close(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        """Close with ``code``; with ``flush``, after the frames already queued (a reply that
        explains the close), else at once, dropping them (a client too slow to read them)."""
        if self.closing:
            return
        if flush:
            self.flush()
            self.closing = True
            self._close_after = (code, reason)
            self._wake()
            return
        self.closing = True
        self._pending.clear()
        self._queue.clear()
        self._task.cancel()
        asyncio.get_running_loop().create_task(self._close(code, reason))

    def stop(self) -> None:
        self.closing = True
        self._pending.clear()
        self._queue.clear()
        self._task.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _close(self, code: int, reason: str) -> None:
        proto = self._proto
        if proto is not None and not proto.writable.is_set():
            # The client stopped reading: uvicorn's send() would wait for the socket to drain
            # before writing the close frame, maybe forever. Let the frame join the transport's
            # buffer now; the client reads it after the data already there, and uvicorn's close
            # timeout drops the connection if it never answers.
            proto.writable.set()
        # Other servers: give up after a while (the ping timeout then drops the connection).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._send({"type": "websocket.close", "code": code, "reason": reason}), 5
            )

    def _take(self) -> list[Message]:
        """What the writer sends next: one message, or everything queued if combined."""
        if self.combined:
            items = list(self._queue)
            self._queue.clear()
            self.sent += len(items)
            return [_combined(items)]
        self.sent += 1
        return [self._queue.popleft()]

    async def _write(self) -> None:
        queue = self._queue
        loop = asyncio.get_running_loop()
        proto = self._proto
        try:
            while True:
                if not queue:
                    if self._close_after is not None:
                        await self._close(*self._close_after)
                        return
                    self._waiter = loop.create_future()
                    await self._waiter
                    self._waiter = None
                    continue
                if proto is not None:  # the socket was paused: write the backlog in one go
                    await proto.writable.wait()
                    if proto.close_sent or proto.disconnected:
                        return
                    items = self._take() if self.combined else list(queue)
                    if not self.combined:
                        self.sent += len(items)
                        queue.clear()
                    proto.transport.write(b"".join([m.frame for m in items]))
                else:
                    for msg in self._take():
                        await self._send({"type": "websocket.send", "text": msg.text})
        except asyncio.CancelledError:
            pass
        except Exception:  # the client went away mid-send: the consumer's disconnect cleans up
            self.closing = True
            queue.clear()


def _combined(items: list[Message]) -> Message:
    return Message("[" + ",".join([m.text for m in items]) + "]")


class Hub:
    """Local subscriptions of one process, fed by one pub/sub connection."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.subs: dict[str, set[Outbox]] = {}
        self._pubsub: Subscriber | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._confirm: dict[str, asyncio.Future[None]] = {}

    async def _ensure(self) -> Subscriber:
        if self._pubsub is None:
            pubsub = Subscriber(self.redis_url)
            await pubsub.connect()
            self._pubsub = pubsub
            self._reader = asyncio.get_running_loop().create_task(self._listen(pubsub))
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

    async def _listen(self, pubsub: Subscriber) -> None:
        try:
            async for kind, raw_channel, data in pubsub.messages():
                channel = raw_channel.decode()
                if kind == b"message":
                    members = self.subs.get(channel)
                    if members:
                        message = Message(data.decode())
                        for box in tuple(members):
                            box.push(message)
                elif kind == b"subscribe":
                    fut = self._confirm.pop(channel, None)
                    if fut is not None and not fut.done():
                        fut.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("market-data pub/sub connection lost: closing local clients")
            self._lose_all()
            await pubsub.aclose()

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
