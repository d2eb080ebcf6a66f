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

How it is fed: a public Binance stream is a ``Relay`` shared by every connection of this
process that asked for it; the relay is one subscriber of the process hub
(``marketdata.hub``) on the native channel, translates each message once
(``binance_compat.translate``) and pushes the same frame to every connection's outbox. The
book ticker and the partial book depth come from a ``BookRelay``: a local book kept from the
depth diffs and the REST snapshot, by the rule Binance documents for clients. Private streams
are translated per connection (they have one reader).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from binance_compat import translate
from binance_compat.auth import find_usable_key, verify_ws_signature
from binance_compat.errors import BinanceError
from binance_compat.services import listen_key_owner
from binance_compat.symbols import symbols
from marketdata import groups
from marketdata.aggregation import INTERVAL_MS
from marketdata.hub import Hub, Message, Outbox, hub_for

log = logging.getLogger(__name__)

_NAME = re.compile(
    r"^([a-z0-9]{2,20})@(depth(?:5|10|20)?(?:@100ms|@1000ms)?|trade|aggTrade|ticker|miniTicker"
    r"|bookTicker|kline_[0-9]{1,2}[mhdw])$"
)
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def agg_trade(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "e": "aggTrade",
        "E": data["E"],
        "s": translate.binance_symbol(data["s"]),
        "a": data["t"],
        "p": data["p"],
        "q": data["q"],
        "f": data["t"],
        "l": data["t"],
        "T": data["T"],
        "m": data["m"],
        "M": True,
    }


def mini_ticker(data: dict[str, Any]) -> dict[str, Any]:
    full = translate.ticker(data)
    return {"e": "24hrMiniTicker", **{k: full[k] for k in ("E", "s", "c", "o", "h", "l", "v", "q")}}


class Wanted:
    """A parsed Binance stream name: which native stream feeds it, and how."""

    def __init__(self, name: str, native_stream: str, kind: str, levels: int = 0) -> None:
        self.name = name
        self.native_stream = native_stream
        self.kind = kind  # depth, trade, aggTrade, ticker, miniTicker, kline, book
        self.levels = levels  # book: 0 = bookTicker, else partial depth levels


async def parse_name(name: object) -> Wanted | None:
    if not isinstance(name, str) or len(name) > 60:
        return None
    m = _NAME.match(name)
    if m is None:
        return None
    native = await database_sync_to_async(symbols.native)(m.group(1).upper())
    if native is None:
        return None
    stream = m.group(2)
    if stream.startswith("kline_"):
        interval = stream.removeprefix("kline_")
        if interval not in INTERVAL_MS:
            return None
        return Wanted(name, f"kline.{interval}.{native}", "kline")
    if stream == "bookTicker":
        return Wanted(name, f"depth.{native}", "book")
    if stream.startswith("depth"):
        levels = stream.removeprefix("depth").split("@")[0]
        if levels:
            return Wanted(name, f"depth.{native}", "book", int(levels))
        return Wanted(name, f"depth.{native}", "depth")
    base = "trade" if stream == "aggTrade" else ("ticker" if stream == "miniTicker" else stream)
    return Wanted(name, f"{base}.{native}", stream)


_TRANSLATE: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "depth": translate.depth,
    "trade": translate.trade,
    "aggTrade": agg_trade,
    "ticker": translate.ticker,
    "miniTicker": mini_ticker,
    "kline": translate.kline,
}


# --- relays ---------------------------------------------------------------------------------


class Relay:
    """One translated stream in this process; a hub subscriber (it has ``push``/``close``)."""

    def __init__(self, key: str, channel: str, kind: str) -> None:
        self.key = key
        self.channel = channel
        self.kind = kind
        self.members: dict[Outbox, tuple[str, bool, int]] = {}  # box -> (name, combined, levels)

    def events(self, data: dict[str, Any]) -> dict[int, dict[str, Any]]:
        """levels -> the event (one per kind of member; 0 for plain relays)."""
        event = _TRANSLATE[self.kind](data)
        return {} if event is None else {0: event}

    def push(self, msg: Message) -> bool:
        try:
            data = json.loads(msg.text)["data"]
            events = self.events(data)
        except Exception:  # a malformed message must not stop the process's hub
            log.exception("could not translate %s", self.channel)
            return True
        if not events:
            return True
        raw: dict[int, str] = {levels: _dumps(e) for levels, e in events.items()}
        plain: dict[int, Message] = {}
        wrapped: dict[tuple[str, int], Message] = {}
        for box, (name, combined, levels) in tuple(self.members.items()):
            text = raw.get(levels)
            if text is None:
                continue
            if combined:
                frame = wrapped.get((name, levels))
                if frame is None:
                    frame = wrapped[(name, levels)] = Message(
                        '{"stream":' + json.dumps(name) + ',"data":' + text + "}"
                    )
            else:
                frame = plain.get(levels)
                if frame is None:
                    frame = plain[levels] = Message(text)
            box.push(frame)
        return True

    def close(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        for box in tuple(self.members):
            box.close(code, reason)


class BookRelay(Relay):
    """A local copy of one market's book, kept from the depth diffs: the best bid and ask
    (``bookTicker``: ``{u, s, b, B, a, A}`` whenever they change) and the top levels
    (``depth5``/``10``/``20``: ``{lastUpdateId, bids, asks}`` after every change).

    Seeded from the matcher's snapshot (the REST ``depth``); diffs up to its
    ``lastUpdateId`` are dropped, and a gap in the ids re-seeds it."""

    def __init__(self, key: str, channel: str, native_symbol: str) -> None:
        super().__init__(key, channel, "book")
        self.native = native_symbol
        self.symbol = translate.binance_symbol(native_symbol)
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.last_id: int | None = None
        self.buffer: list[dict[str, Any]] = []
        self.best: tuple[Any, ...] | None = None
        self.seeding: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.last_id = None
        self.buffer = []
        self.seeding = asyncio.get_running_loop().create_task(self._seed())

    async def _seed(self) -> None:
        try:
            last_id, bids, asks = await sync_to_async(_snapshot)(self.native)
        except Exception:
            log.exception("book snapshot of %s failed", self.native)
            self.close(4010, "market data interrupted")
            return
        self.bids, self.asks, self.last_id = dict(bids), dict(asks), last_id
        buffered, self.buffer = self.buffer, []
        for diff in buffered:
            self._apply(diff)

    def _apply(self, diff: dict[str, Any]) -> bool:
        """Apply one diff; False if there was a gap (the book is being re-seeded)."""
        if self.last_id is None or diff["u"] <= self.last_id:
            return True
        if diff["U"] > self.last_id + 1:
            self.start()
            return False
        for side, levels in ((self.bids, diff["b"]), (self.asks, diff["a"])):
            for price, qty in levels:
                if Decimal(qty):
                    side[price] = qty
                else:
                    side.pop(price, None)
        self.last_id = diff["u"]
        return True

    def events(self, data: dict[str, Any]) -> dict[int, dict[str, Any]]:
        if self.last_id is None:
            self.buffer.append(data)
            return {}
        if not self._apply(data):
            return {}
        out: dict[int, dict[str, Any]] = {}
        wanted = {levels for _, _, levels in self.members.values()}
        if 0 in wanted:
            bid = max(self.bids.items(), key=lambda kv: Decimal(kv[0]), default=None)
            ask = min(self.asks.items(), key=lambda kv: Decimal(kv[0]), default=None)
            best = (bid, ask)
            if best != self.best:
                self.best = best
                out[0] = {
                    "u": self.last_id,
                    "s": self.symbol,
                    "b": bid[0] if bid else "0",
                    "B": bid[1] if bid else "0",
                    "a": ask[0] if ask else "0",
                    "A": ask[1] if ask else "0",
                }
        for levels in wanted - {0}:
            out[levels] = {
                "lastUpdateId": self.last_id,
                "bids": [list(kv) for kv in heapq.nlargest(levels, self.bids.items(), key=_price)],
                "asks": [list(kv) for kv in heapq.nsmallest(levels, self.asks.items(), key=_price)],
            }
        return out


def _price(level: tuple[str, str]) -> Decimal:
    return Decimal(level[0])


def _snapshot(native: str) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
    from marketdata import selectors as md
    from marketdata.formatting import Fmt
    from trading.specs import cached_market

    fmt = Fmt.of(cached_market(native)[1])
    book = md.depth(native)
    return (
        book.last_update_id,
        [(fmt.ticks(p), fmt.lots(q)) for p, q in book.bids],
        [(fmt.ticks(p), fmt.lots(q)) for p, q in book.asks],
    )


class Relays:
    """This process's relays, one per translated stream, created and dropped with their
    first and last member."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.by_key: dict[str, Relay] = {}
        self.lock = asyncio.Lock()

    async def join(self, wanted: Wanted, box: Outbox, combined: bool) -> None:
        prefix = groups.prefix_for(settings.REDIS_URL)
        channel = groups.public_channel(prefix, wanted.native_stream)
        key = f"{wanted.kind}|{channel}"
        async with self.lock:
            relay = self.by_key.get(key)
            if relay is not None and relay not in self.hub.subs.get(channel, ()):
                # The hub lost its Redis subscription and dropped every subscriber (its
                # clients were closed with 4010): start this stream afresh.
                del self.by_key[key]
                relay = None
            new = relay is None
            if relay is None:
                if wanted.kind == "book":
                    relay = BookRelay(key, channel, wanted.native_stream.split(".", 1)[1])
                else:
                    relay = Relay(key, channel, wanted.kind)
                self.by_key[key] = relay
            relay.members[box] = (wanted.name, combined, wanted.levels)
            if new:
                await self.hub.subscribe(channel, cast(Outbox, relay))
                if isinstance(relay, BookRelay):
                    relay.start()

    async def leave(self, wanted: Wanted, box: Outbox) -> None:
        prefix = groups.prefix_for(settings.REDIS_URL)
        key = f"{wanted.kind}|{groups.public_channel(prefix, wanted.native_stream)}"
        async with self.lock:
            relay = self.by_key.get(key)
            if relay is None:
                return
            relay.members.pop(box, None)
            if not relay.members:
                del self.by_key[key]
                await self.hub.unsubscribe(relay.channel, cast(Outbox, relay))
                if isinstance(relay, BookRelay) and relay.seeding is not None:
                    relay.seeding.cancel()


_relays: dict[int, Relays] = {}


def relays_for(hub: Hub) -> Relays:
    found = _relays.get(id(hub))
    if found is None or found.hub is not hub:
        found = _relays[id(hub)] = Relays(hub)
    return found


class PrivateSink:
    """One connection's user data: the user's ``orders`` and ``balances`` channels,
    translated and wrapped for that connection."""

    def __init__(self, box: Outbox, wrap: Callable[[str], str]) -> None:
        self.box = box
        self.wrap = wrap

    def push(self, msg: Message) -> bool:
        try:
            parsed = json.loads(msg.text)
            event = translate.PRIVATE[parsed["stream"]](parsed["data"])
        except Exception:
            log.exception("could not translate a private message")
            return True
        if event is not None:
            self.box.push(Message(self.wrap(_dumps(event))))
        return True

    def close(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        self.box.close(code, reason)


async def attach_user(hub: Hub, sink: PrivateSink, user_id: int) -> list[str]:
    prefix = groups.prefix_for(settings.REDIS_URL)
    channels = [groups.private_channel(prefix, user_id, s) for s in sorted(groups.PRIVATE_STREAMS)]
    for channel in channels:
        await hub.subscribe(channel, cast(Outbox, sink))
    return channels


# --- consumers ------------------------------------------------------------------------------


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
        self.outbox.reply(_dumps(body))

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
