"""The market-data publisher process: events streams -> Redis pub/sub, from one asyncio loop.

One reader task per shard consumes ``ex:{s}:events`` with the ``publisher`` consumer group
(entries delivered before a crash and never acked first, then new ones), turns each read into
frames (``marketdata.frames``) and PUBLISHes them in one pipelined round trip that ends with
the XACK. Private frames are built only for channels someone listens to (PUBSUB NUMSUB, one
round trip per read). A timer task emits candle closes and tickers. Nothing here waits on
Postgres except the rare lookup of an order, market or asset this process has not seen yet.

Delivery is at-most-once towards clients with one exception: a crash between PUBLISH and XACK
republishes that read after the restart; clients drop the repeat by ``u`` (depth) and ``t``
(trades). Gaps are never silent: ``U``/``u`` and trade ids are sequential per market.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import sync_to_async

from accounts.models import Asset
from common.clock import datetime_to_ms
from marketdata import seed
from marketdata.frames import Frame, OrderInfo, PublisherState
from matching.arith import amount_to_atoms, price_to_ticks, quantity_to_lots
from matching.events import Event
from pipeline.keys import shard_keys
from pipeline.streams import (
    PUBLISHER_GROUP,
    group_entries,
    pairs,
    parse_event_entry,
    read_group_command,
)
from pipeline.wire import AsyncWire, raise_if_error
from trading.models import Order
from trading.specs import cached_market

log = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _order_infos(ids: set[int]) -> dict[int, OrderInfo]:
    rows = Order.objects.filter(id__in=ids).select_related("market")
    out = {}
    for o in rows:
        spec = cached_market(o.market.symbol)[1]
        out[o.id] = OrderInfo(
            o.client_order_id,
            o.side,
            o.type,
            o.time_in_force,
            None if o.price is None else price_to_ticks(spec, o.price),
            None if o.quantity is None else quantity_to_lots(spec, o.quantity),
            None
            if o.quote_quantity is None
            else amount_to_atoms(spec.quote.decimals, o.quote_quantity),
            o.post_only,
            o.stp_mode,
            datetime_to_ms(o.created_at),
            None if o.stop_price is None else price_to_ticks(spec, o.stop_price),
            o.trailing_delta,
            None if o.iceberg_quantity is None else quantity_to_lots(spec, o.iceberg_quantity),
            None if o.expire_time is None else datetime_to_ms(o.expire_time),
            o.list_id,
            None if o.trigger_price is None else price_to_ticks(spec, o.trigger_price),
        )
    return out


def _asset_decimals(codes: set[str]) -> dict[str, int]:
    return dict(Asset.objects.filter(code__in=codes).values_list("code", "decimals"))


class Publisher:
    def __init__(
        self,
        redis_url: str,
        state: PublisherState,
        shards: Sequence[str],
        *,
        read_count: int = 200,
        block_ms: int = 100,
        tick_ms: int = 50,
        linger_ms: int = 0,
        consumer: str = "publisher",
    ) -> None:
        self.redis_url = redis_url
        self.state = state
        self.shards = list(shards)
        self.read_count = read_count
        self.block_ms = block_ms
        self.tick_ms = tick_ms
        self.linger_ms = linger_ms
        self.consumer = consumer
        self.stats = {"reads": 0, "events": 0, "frames": 0}
        # One connection per task (each shard's reader, the timer), opened on first use inside
        # the running loop. A read blocks up to ``block_ms``: the timer must not wait on it.
        self.wires = {name: AsyncWire(redis_url) for name in [*self.shards, "tick"]}

    async def run(self, should_stop: Callable[[], bool]) -> None:
        tasks = [asyncio.create_task(self._read_loop(s, should_stop)) for s in self.shards]
        tasks.append(asyncio.create_task(self._tick_loop(should_stop)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # re-raise a crash: the supervisor restarts us
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for wire in self.wires.values():
                await wire.aclose()

    async def _read_loop(self, shard: str, should_stop: Callable[[], bool]) -> None:
        stream = shard_keys(shard).events
        wire = self.wires[shard]
        pending = True
        while not should_stop():
            read = read_group_command(
                stream, PUBLISHER_GROUP, self.consumer, self.read_count, self.block_ms, pending
            )
            (resp,) = await wire.call(read, timeout_s=self.block_ms / 1000 + 5)
            entries = group_entries(resp)
            if not entries:
                pending = False
                continue
            batches = [parse_event_entry(eid, fields) for eid, fields in entries]
            events = [ev for b in batches for ev in b.events]
            await self._prepare(events)
            self.state.listening = await self._listening(wire, events)
            frames = self.state.on_events(shard, events, now_ms())
            await self._reseed_books()
            await self._publish(wire, frames, ack=(stream, [b.entry_id for b in batches]))
            self.stats["reads"] += 1
            self.stats["events"] += len(events)
            if self.linger_ms and len(entries) < self.read_count:
                # Let the next read gather several matcher batches: each read costs three
                # round trips and a depth and kline frame per market, whatever its size, and
                # depth diffs coalesce. Market data is then at most this much later.
                await asyncio.sleep(self.linger_ms / 1000)

    async def _tick_loop(self, should_stop: Callable[[], bool]) -> None:
        last_report = time.monotonic()
        while not should_stop():
            await asyncio.sleep(self.tick_ms / 1000)
            await self._publish(self.wires["tick"], self.state.on_tick(now_ms()))
            await self._reseed_books()
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                log.info("publisher: %s", self.stats)

    async def _prepare(self, events: list[Event]) -> None:
        """Load what the state machine needs and has never seen (new market, old order)."""
        for symbol in self.state.unknown_symbols(events):
            self.state.markets[symbol] = await sync_to_async(seed.market_state)(symbol)
        missing = self.state.unknown_orders(events)
        if missing:
            self.state.orders.update(await sync_to_async(_order_infos)(missing))
        assets = self.state.unknown_assets(events)
        if assets:
            self.state.asset_decimals.update(await sync_to_async(_asset_decimals)(assets))

    async def _reseed_books(self) -> None:
        for state in self.state.markets.values():
            if state.needs_book:
                fresh = await sync_to_async(seed.market_state)(state.symbol)
                state.seed_book(
                    fresh.last_update_id, list(fresh.bids.items()), list(fresh.asks.items())
                )

    async def _listening(self, wire: AsyncWire, events: list[Event]) -> set[str]:
        """The private channels of these events' accounts that have a subscriber now.

        A hub confirms a subscription to its client only once Redis has it, so a client that
        subscribed before acting is counted here for the events its action caused."""
        channels = self.state.private_channels(events)
        if not channels:
            return set()
        (counts,) = await wire.call(("PUBSUB", "NUMSUB", *channels))
        raise_if_error(counts)
        return {name.decode() for name, count in pairs(counts).items() if count}

    async def _publish(
        self, wire: AsyncWire, frames: list[Frame], ack: tuple[str, list[bytes]] | None = None
    ) -> None:
        """PUBLISH the frames and, in the same round trip after them, XACK the entries."""
        if not frames and ack is None:
            return
        commands: list[tuple[Any, ...]] = [("PUBLISH", channel, text) for channel, text in frames]
        if ack is not None:
            commands.append(("XACK", ack[0], PUBLISHER_GROUP, *ack[1]))
        for reply in await wire.call(*commands):
            raise_if_error(reply)
        self.stats["frames"] += len(frames)
