"""Binance's WebSocket streams on the WebSocket server, relaying the same publisher.

* ``/ws/<stream>[/<stream>...]``: raw events; ``/stream?streams=a/b``: each event wrapped as
  ``{"stream": name, "data": event}``. Either takes ``SUBSCRIBE`` / ``UNSUBSCRIBE`` /
  ``LIST_SUBSCRIPTIONS`` frames (``{"method", "params", "id"}``, answered
  ``{"result": ..., "id": ...}``). A path segment that is no stream is ignored, as Binance does
  (ccxt connects to ``/ws/0`` and subscribes); one that is a live listen key attaches that key's
  user data stream (``executionReport``, ``outboundAccountPosition``).
* ``/ws-api/v3`` (``WsApiConsumer``): the part of Binance's WebSocket API that user data needs:
  ``userDataStream.subscribe.signature`` (what ccxt uses for ``watch_orders``),
  ``userDataStream.unsubscribe``, ``ping``, ``time``. Events arrive as
  ``{"subscriptionId": n, "event": {...}}``.

How they are fed (the relays shared within the process, a private sink per connection):
``binance_compat.relays``.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from binance_compat.auth import find_usable_key, verify_ws_signature
from binance_compat.errors import BinanceError
from binance_compat.relays import PrivateSink, Wanted, attach_user, dumps, parse_name, relays_for
from binance_compat.services import listen_key_owner
from marketdata.hub import Outbox, hub_for

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class _Base(AsyncWebsocketConsumer):
    channel_layer_alias = "marketdata-has-no-channel-layer"  # fan-out is the hub's
    outbox: Outbox

    async def _open(self) -> None:
        self.hub = hub_for(settings.REDIS_URL)
        self.private: list[tuple[str, PrivateSink]] = []
        self.tokens = float(2 * settings.MARKETDATA_WS_REQUESTS_PER_S)
        self.tokens_at = time.monotonic()
        await self.accept()
        self.outbox = Outbox(
            self.base_send,
            limit=settings.MARKETDATA_WS_SEND_QUEUE,
            direct=settings.MARKETDATA_WS_DIRECT_WRITE,
        )

    def _take_token(self) -> bool:
        rate = settings.MARKETDATA_WS_REQUESTS_PER_S
        now = time.monotonic()
        self.tokens = min(2.0 * rate, self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        self.tokens -= 1
        return self.tokens >= 0

    def _reply(self, body: dict[str, Any]) -> None:
        self.outbox.reply(dumps(body))

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "outbox"):
            return
        self.outbox.stop()
        for channel, sink in self.private:
            await self.hub.unsubscribe(channel, cast(Outbox, sink))
        self.private = []


class StreamConsumer(_Base):
    """``/ws/<streams>`` and ``/stream?streams=``: market streams and listen-key user data."""

    async def connect(self) -> None:
        path = self.scope.get("path", "")
        self.combined = path.rstrip("/").endswith("/stream")
        if self.combined:
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            raw = query.get("streams", [""])[-1]
        else:
            raw = self.scope.get("url_route", {}).get("kwargs", {}).get("streams", "")
        await self._open()
        self.relays = relays_for(self.hub)
        self.streams: dict[str, Wanted] = {}
        for name in [n for n in raw.split("/") if n][: settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS]:
            wanted = await parse_name(name)
            if wanted is not None:
                await self._join(wanted)
            elif 20 <= len(name) <= 128:
                await self._listen(name)

    async def _join(self, wanted: Wanted) -> None:
        if wanted.name in self.streams:
            return
        self.streams[wanted.name] = wanted
        await self.relays.join(wanted, self.outbox, self.combined)

    async def _listen(self, listen_key: str) -> None:
        owner = await database_sync_to_async(_listen_key_user)(listen_key)
        if owner is None:
            return  # not a live listen key: ignored like any unknown stream name
        if self.combined:
            prefix = '{"stream":' + json.dumps(listen_key) + ',"data":'

            def wrap(text: str) -> str:
                return prefix + text + "}"
        else:

            def wrap(text: str) -> str:
                return text

        sink = PrivateSink(self.outbox, wrap)
        for channel in await attach_user(self.hub, sink, owner):
            self.private.append((channel, sink))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "outbox"):
            for wanted in list(getattr(self, "streams", {}).values()):
                await self.relays.leave(wanted, self.outbox)
            self.streams = {}
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.outbox.closing:
            return
        if not self._take_token():
            self._reply({"code": 2, "msg": "Too many requests.", "id": None})
            return
        if text_data is None or len(text_data) > settings.MARKETDATA_WS_MAX_FRAME_BYTES:
            limit = settings.MARKETDATA_WS_MAX_FRAME_BYTES
            msg = f"Invalid request: the frame must be JSON text of at most {limit} bytes"
            self._reply({"code": 2, "msg": msg, "id": None})
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            self._reply({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"})
            return
        if not isinstance(frame, dict) or "method" not in frame:
            self._reply({"code": 2, "msg": "Invalid request: missing field `method`", "id": None})
            return
        request_id = frame.get("id")
        if request_id is not None and (
            isinstance(request_id, bool) or not isinstance(request_id, int | str)
            or (isinstance(request_id, str) and len(request_id) > 64)
        ):  # fmt: skip
            self._reply(
                {
                    "code": 2,
                    "msg": "Invalid request: request ID must be an unsigned integer",
                    "id": None,
                }
            )
            return
        method = frame.get("method")
        params = frame.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            error = await self._subscription(method, params)
            if error is not None:
                self._reply({"code": 2, "msg": f"Invalid request: {error}", "id": request_id})
                return
            self._reply({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            self._reply({"result": sorted(self.streams), "id": request_id})
        elif method == "GET_PROPERTY" and params == ["combined"]:
            self._reply({"result": self.combined, "id": request_id})
        elif (
            method == "SET_PROPERTY"
            and isinstance(params, list)
            and len(params) == 2
            and params[0] == "combined"
        ):
            if not isinstance(params[1], bool):
                self._reply(
                    {"code": 1, "msg": "Invalid value type: expected Boolean", "id": request_id}
                )
                return
            await self._set_combined(params[1])
            self._reply({"result": None, "id": request_id})
        elif method in ("GET_PROPERTY", "SET_PROPERTY"):
            self._reply({"code": 0, "msg": "Unknown property", "id": request_id})
        else:
            self._reply({"code": 2, "msg": f"Invalid request: unknown variant {str(method)[:40]}, "
                         f"expected one of {', '.join(METHODS)}", "id": request_id})  # fmt: skip

    async def _subscription(self, method: str, params: Any) -> str | None:
        if not isinstance(params, list) or not params or len(params) > 100:
            return "params must be a non-empty list of stream names"
        parsed = []
        for name in params:
            wanted = await parse_name(name)
            if wanted is None:
                shown = name[:60] if isinstance(name, str) else type(name).__name__
                return f"invalid stream name {shown!r}"
            parsed.append(wanted)
        if method == "UNSUBSCRIBE":
            for wanted in parsed:
                if self.streams.pop(wanted.name, None) is not None:
                    await self.relays.leave(wanted, self.outbox)
            return None
        new = {w.name for w in parsed} - set(self.streams)
        if len(self.streams) + len(new) > settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS:
            return f"at most {settings.MARKETDATA_WS_MAX_SUBSCRIPTIONS} streams per connection"
        for wanted in parsed:
            await self._join(wanted)
        return None

    async def _set_combined(self, combined: bool) -> None:
        self.combined = combined
        for wanted in list(self.streams.values()):
            await self.relays.leave(wanted, self.outbox)
            await self.relays.join(wanted, self.outbox, combined)


def _listen_key_user(listen_key: str) -> int | None:
    owner = listen_key_owner(listen_key)
    if owner is None:
        return None
    user_id, key_id = owner
    try:
        api_key, _ = find_usable_key(key_id)
    except BinanceError:
        return None
    if api_key.revoked_at is not None or not api_key.perm_read:
        return None
    return user_id


class WsApiConsumer(_Base):
    """``/ws-api/v3``: ``{"id", "method", "params"}`` -> ``{"id", "status", "result"|"error"}``."""

    async def connect(self) -> None:
        await self._open()
        self.subscription: int | None = None
        self.next_subscription = 0

    def _answer(
        self, request_id: Any, status: int, result: Any = None, error: BinanceError | None = None
    ) -> None:
        body: dict[str, Any] = {"id": request_id, "status": status}
        if error is not None:
            body["error"] = {"code": error.code, "msg": error.msg}
        else:
            body["result"] = result
        body["rateLimits"] = []
        self._reply(body)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.outbox.closing:
            return
        if not self._take_token():
            self._answer(None, 429, error=BinanceError(-1003, "Too many requests.", 429))
            return
        try:
            frame = json.loads(text_data or "")
        except (ValueError, RecursionError):
            frame = None
        if (
            not isinstance(frame, dict)
            or len(text_data or "") > settings.MARKETDATA_WS_MAX_FRAME_BYTES
        ):
            self._answer(None, 400, error=BinanceError(-1135, "Invalid JSON Request"))
            return
        request_id, method, params = frame.get("id"), frame.get("method"), frame.get("params", {})
        try:
            result = await self._call(method, params)
        except BinanceError as exc:
            self._answer(request_id, exc.status, error=exc)
            return
        self._answer(request_id, 200, result)

    async def _call(self, method: Any, params: Any) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": time.time_ns() // 1_000_000}
        if method == "userDataStream.subscribe.signature":
            if self.private:
                raise BinanceError(-2035, "User Data Stream subscription already active.")
            api_key = await database_sync_to_async(verify_ws_signature)(params, time.time() * 1000)
            self.subscription = self.next_subscription
            self.next_subscription += 1
            prefix = '{"subscriptionId":' + str(self.subscription) + ',"event":'
            sink = PrivateSink(self.outbox, lambda text: prefix + text + "}")
            for channel in await attach_user(self.hub, sink, api_key.user_id):
                self.private.append((channel, sink))
            return {"subscriptionId": self.subscription}
        if method == "userDataStream.unsubscribe":
            if not self.private:
                raise BinanceError(-2036, "User Data Stream subscription not active.")
            for channel, sink in self.private:
                await self.hub.unsubscribe(channel, cast(Outbox, sink))
            self.private = []
            self.subscription = None
            return {}
        raise BinanceError(-1020, "This operation is not supported.")
