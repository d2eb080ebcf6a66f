"""Binance's streams fed from our publisher's messages, shared within one process.

A public Binance stream is a ``Relay`` shared by every connection of this process that asked
for it; the relay is one subscriber of the process hub (``marketdata.hub``) on the native
channel, translates each message once (``binance_compat.translate``) and pushes the same frame
to every member's outbox. The book ticker and the partial book depth come from a ``BookRelay``:
a local book kept from the depth diffs and the REST snapshot, by the rule Binance documents for
clients. A user's data stream is a ``PrivateSink`` per connection (it has one reader).
Stream names (``solusdc@depth5``) are parsed here into the native stream that feeds them.
The consumers that own the connections are in ``binance_compat.streams``.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from binance_compat import translate
from binance_compat.symbols import symbols
from marketdata import groups
from marketdata.aggregation import INTERVAL_MS
from marketdata.hub import Hub, Message, Outbox

log = logging.getLogger(__name__)

_NAME = re.compile(
    r"^([a-z0-9]{2,20})@(depth(?:5|10|20)?(?:@100ms|@1000ms)?|trade|aggTrade|ticker|miniTicker"
    r"|bookTicker|kline_[0-9]{1,2}[mhdw])$"
)


def dumps(value: Any) -> str:
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
        raw: dict[int, str] = {levels: dumps(e) for levels, e in events.items()}
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
            self.box.push(Message(self.wrap(dumps(event))))
        return True

    def close(self, code: int, reason: str = "", *, flush: bool = False) -> None:
        self.box.close(code, reason)


async def attach_user(hub: Hub, sink: PrivateSink, user_id: int) -> list[str]:
    prefix = groups.prefix_for(settings.REDIS_URL)
    channels = [groups.private_channel(prefix, user_id, s) for s in sorted(groups.PRIVATE_STREAMS)]
    for channel in channels:
        await hub.subscribe(channel, cast(Outbox, sink))
    return channels
