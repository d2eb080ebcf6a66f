"""The /ws consumer: a relay. It parses client frames, keeps the connection's subscriptions and
identity, and attaches its outbox to the process hub; it never writes to the database.

Frames in: ``{"method", "params", "id"}`` (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, AUTH,
PING); each is answered ``{"id", "result"}`` or ``{"id", "error": {"code", "message"}}``.
Frames out: ``{"stream", "data"}`` as the publisher serialized them (or, with ``?combined=1``,
JSON arrays of those). Close codes: 4001 authentication failed, 4008 too slow, 4010 market data
interrupted (reconnect and re-snapshot), 4029 too many requests, 1009 frame too large.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from marketdata import groups
from marketdata.hub import Hub, Outbox, hub_for
from marketdata.wsauth import AuthFailed, verify_auth
from trading.models import Market

CLOSE_AUTH_FAILED = 4001
CLOSE_TOO_MANY_REQUESTS = 4029
CLOSE_TOO_LARGE = 1009
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "AUTH", "PING")

_symbols: tuple[float, frozenset[str]] = (0.0, frozenset())


def _load_symbols() -> frozenset[str]:
    return frozenset(Market.objects.values_list("symbol", flat=True))


async def known_symbols() -> frozenset[str]:
    """Market symbols, refreshed at most every 10 s (one query, not one per SUBSCRIBE)."""
    global _symbols
    loaded_at, names = _symbols
    if time.monotonic() - loaded_at > 10:
        names = await database_sync_to_async(_load_symbols)()
        _symbols = (time.monotonic(), names)
    return names


def _user_id(scope: dict[str, Any]) -> int | None:
    user = scope.get("user")
    if user is not None and user.is_authenticated and user.is_active:
        return int(user.pk)
    return None


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MarketDataConsumer(AsyncWebsocketConsumer):
    # Not a configured alias: Channels then gives the connection no channel-layer channel.
    # Fan-out comes from the process hub (marketdata.hub), not from layer groups.
    channel_layer_alias = "marketdata-has-no-channel-layer"

    outbox: Outbox  # set in connect(), which Channels always runs first

    async def connect(self) -> None:
        self.hub: Hub = hub_for(settings.REDIS_URL)
        # AuthMiddlewareStack has already resolved the session cookie into scope["user"].
        self.user_id: int | None = _user_id(self.scope)
        self.streams: dict[str, str] = {}  # stream name -> pub/sub channel
        self.tokens = float(2 * settings.MARKETDATA_WS_REQUESTS_PER_S)
        self.tokens_at = time.monotonic()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        combined = query.get("combined", ["0"])[-1] in ("1", "true")
        await self.accept()
        self.outbox = Outbox(
            self.base_send,
            limit=settings.MARKETDATA_WS_SEND_QUEUE,
            combined=combined,
            direct=settings.MARKETDATA_WS_DIRECT_WRITE,
        )

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "outbox"):
            self.outbox.stop()
            for channel in set(self.streams.values()):
                await self.hub.unsubscribe(channel, self.outbox)
        self.streams = {}

    # --- frames in ------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.outbox.closing:
            return
        if not self._take_token():
            self._answer(None, error=("too_many_requests", "Too many requests: slow down."))
            if self.tokens < -2 * settings.MARKETDATA_WS_REQUESTS_PER_S:
                self.outbox.close(CLOSE_TOO_MANY_REQUESTS, "too many requests", flush=True)
            return
        if text_data is None:
            self._answer(None, error=("invalid_frame", "Frames must be JSON text, not binary."))
            return
        limit = settings.MARKETDATA_WS_MAX_FRAME_BYTES
        if len(text_data) > limit or len(text_data.encode()) > limit:
            self._answer(None, error=("frame_too_large", "The frame is too large."))
            self.outbox.close(CLOSE_TOO_LARGE, "frame too large", flush=True)
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            self._answer(None, error=("invalid_json", "The frame is not valid JSON."))
            return
        if not isinstance(frame, dict):
            self._answer(None, error=("invalid_frame", "A frame is a JSON object."))
            return
        request_id = frame.get("id")
        if not _valid_id(request_id):
            self._answer(None, error=("invalid_id", "id must be an integer, a string or null."))
            return
        method = frame.get("method")
        try:
            result = await self._dispatch(method, frame.get("params"))
        except RequestError as exc:
            self._answer(request_id, error=(exc.code, exc.message))
            return
        except AuthFailed as exc:
            self._answer(request_id, error=(exc.code, exc.message))
            self.outbox.close(CLOSE_AUTH_FAILED, "authentication failed", flush=True)
            return
        self._answer(request_id, result=result)

    def _take_token(self) -> bool:
        rate = settings.MARKETDATA_WS_REQUESTS_PER_S
        now = time.monotonic()
        self.tokens = min(2.0 * rate, self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        self.tokens -= 1
        return self.tokens >= 0

    def _answer(
        self, request_id: Any, *, result: Any = None, error: tuple[str, str] | None = None
    ) -> None:
        if error is not None:
            body = {"id": request_id, "error": {"code": error[0], "message": error[1]}}
        else:
            body = {"id": request_id, "result": result}
        self.outbox.reply(json.dumps(body, separators=(",", ":")))

    async def _dispatch(self, method: Any, params: Any) -> Any:
        if method == "SUBSCRIBE":
            return await self._subscribe(params)
        if method == "UNSUBSCRIBE":
            return await self._unsubscribe(params)
        if method == "LIST_SUBSCRIPTIONS":
            return sorted(self.streams)
        if method == "AUTH":
            return await self._auth(params)
        if method == "PING":
            return "pong"
        raise RequestError("unknown_method", f"method must be one of {', '.join(METHODS)}.")

    # --- methods --------------------------------------------------------------------------------

    async def _streams(self, params: Any) -> list[groups.Stream]:
        if not isinstance(params, list) or not params or len(params) > 100:
            raise RequestError("invalid_params", "params must be a non-empty list of streams.")
        parsed = []
        for name in params:
            stream = groups.parse_stream(name)
            if stream is None:
                shown = name[:40] if isinstance(name, str) else type(name).__name__
                raise RequestError("unknown_stream", f"Unknown stream {shown!r}.")
            parsed.append(stream)
        return parsed

    async def _subscribe(self, params: Any) -> None:
        streams = await self._streams(params)
        symbols = await known_symbols()
        for stream in streams:
            if stream.private and self.user_id is None:
                raise RequestError(
                    "unauthenticated", f"{stream.name} needs AUTH or a logged-in session."
                )
            if stream.symbol is not None and stream.symbol not in symbols:
                raise RequestError("unknown_stream", f"Unknown market in {stream.name!r}.")
        wanted = {s.name for s in streams} - set(self.streams)
        if len(self.streams) + len(wanted) > settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS:
            raise RequestError(
                "too_many_subscriptions",
                f"At most {settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS} streams per connection.",
            )
        for stream in streams:
            if stream.name in self.streams:
                continue
            channel = groups.channel_for(self.hub_prefix, stream, self.user_id)
            self.streams[stream.name] = channel
            await self.hub.subscribe(channel, self.outbox)

    async def _unsubscribe(self, params: Any) -> None:
        streams = await self._streams(params)
        for stream in streams:
            channel = self.streams.pop(stream.name, None)
            if channel is not None:
                await self.hub.unsubscribe(channel, self.outbox)

    async def _auth(self, params: Any) -> dict[str, Any]:
        user_id = await database_sync_to_async(verify_auth)(params, time.time_ns() // 1_000_000)
        if self.user_id is not None and self.user_id != user_id:
            raise RequestError("already_authenticated", "This connection belongs to another user.")
        self.user_id = user_id
        return {"authenticated": True}

    @property
    def hub_prefix(self) -> str:
        return groups.prefix_for(settings.REDIS_URL)


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= 64
