"""Redis pub/sub for asyncio, on the lean client (``pipeline.wire``): what the WebSocket hub
(``marketdata.hub``) listens with.

One connection in subscriber mode: ``subscribe`` and ``unsubscribe`` write their command and
return; Redis confirms each channel with a ``subscribe`` message that ``messages`` yields in
order with the published ones, so a caller that waits for it knows nothing published after
it is missed. Every reply is parsed by hiredis and handed on as it is (bytes), with no
per-message objects: the hub relays every market-data frame through here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import hiredis

from pipeline.wire import Server, WireError, pack_commands


class Subscriber(Server):
    def __init__(self, url: str, connect_timeout_s: float = 5.0) -> None:
        super().__init__(url)
        self.connect_timeout_s = connect_timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = hiredis.Reader()

    async def connect(self) -> None:
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                sock = self._writer.get_extra_info("socket")
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                # AUTH only: a channel is not in any database.
                setup = [cmd for cmd in self.setup_commands() if cmd[0] == "AUTH"]
                if setup:
                    self._writer.write(pack_commands(setup))
                    reply = await self._next()
                    if isinstance(reply, hiredis.ReplyError):
                        raise WireError(f"Redis refused the connection set-up: {reply}")
        except (OSError, TimeoutError) as exc:
            await self.aclose()
            raise WireError(str(exc) or type(exc).__name__) from exc

    async def subscribe(self, *channels: str) -> None:
        await self._send(("SUBSCRIBE", *channels))

    async def unsubscribe(self, *channels: str) -> None:
        await self._send(("UNSUBSCRIBE", *channels))

    async def _send(self, command: tuple[str, ...]) -> None:
        if self._writer is None:
            raise WireError("not connected")
        try:
            self._writer.write(pack_commands([command]))
            await self._writer.drain()  # returns at once unless the socket's buffer is full
        except OSError as exc:
            raise WireError(str(exc)) from exc

    async def messages(self) -> AsyncIterator[list[bytes]]:
        """Every push in order: ``[b"message", channel, data]``, ``[b"subscribe", channel,
        count]``, ``[b"unsubscribe", channel, count]``. Ends by raising ``WireError`` when the
        connection is lost."""
        while True:
            reply = await self._next()
            if isinstance(reply, hiredis.ReplyError):
                raise WireError(f"Redis error on the subscriber connection: {reply}")
            yield reply

    async def _next(self) -> list[bytes]:
        if self._reader is None:
            raise WireError("not connected")
        parser = self._parser
        while True:
            reply = parser.gets()
            if reply is not False:
                return reply
            try:
                data = await self._reader.read(65536)
            except OSError as exc:
                raise WireError(str(exc)) from exc
            if not data:
                raise WireError("Redis closed the connection")
            parser.feed(data)

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        self._parser = hiredis.Reader()
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
