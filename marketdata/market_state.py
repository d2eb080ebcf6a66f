"""One market's live state in the publisher, and the coalescing of its depth changes.

``MarketState`` keeps what the publisher's messages need between reads: the book (for the best
bid and ask), the candles still open or just closed, and the minute buckets of the 24-hour
ticker. ``coalesce_depth`` merges the BookChanged of one read into one diff per market. Pure: no
I/O (``marketdata.frames`` drives it, ``marketdata.publisher`` feeds it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from marketdata.aggregation import INTERVALS, Candle, open_time
from marketdata.formatting import Fmt
from matching.events import BookChanged, Event

NS_PER_MS = 1_000_000


@dataclass(slots=True)
class DepthDiff:
    symbol: str
    first_id: int
    last_id: int
    time_ms: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)


def coalesce_depth(events: Iterable[Event]) -> dict[str, DepthDiff]:
    """Per market, one diff covering every BookChanged in ``events`` (they are in engine order)."""
    out: dict[str, DepthDiff] = {}
    for ev in events:
        if type(ev) is not BookChanged:
            continue
        diff = out.get(ev.symbol)
        if diff is None:
            diff = out[ev.symbol] = DepthDiff(ev.symbol, ev.update_id, ev.update_id, 0)
        diff.last_id = ev.update_id
        diff.time_ms = ev.ts // NS_PER_MS
        for price, lots in ev.bids:
            diff.bids[price] = lots
        for price, lots in ev.asks:
            diff.asks[price] = lots
    return out


@dataclass(slots=True)
class MarketState:
    """One market's live state: a book for best bid/ask, recent candles, ticker buckets."""

    symbol: str
    fmt: Fmt
    last_update_id: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    needs_book: bool = False  # a gap in update ids: reseed from the matcher's depth snapshot
    klines: dict[str, dict[int, Candle]] = field(default_factory=dict)
    closed: set[tuple[str, int]] = field(default_factory=set)
    minutes: dict[int, Candle] = field(default_factory=dict)
    last_before: int | None = None  # last trade price before the oldest minute bucket held
    ticker_dirty: bool = True
    ticker_sent_ms: int = 0
    best: tuple[int | None, int | None] = (None, None)

    def seed_book(
        self, last_update_id: int, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]]
    ) -> None:
        self.last_update_id = last_update_id
        self.bids = dict(bids)
        self.asks = dict(asks)
        self.needs_book = False
        self.ticker_dirty = True

    def apply_book(self, ev: BookChanged) -> None:
        if ev.update_id <= self.last_update_id:
            return  # already in the seed
        if ev.update_id != self.last_update_id + 1:
            self.needs_book = True
        self.last_update_id = ev.update_id
        for side, levels in ((self.bids, ev.bids), (self.asks, ev.asks)):
            for price, lots in levels:
                if lots:
                    side[price] = lots
                else:
                    side.pop(price, None)

    def best_prices(self) -> tuple[int | None, int | None]:
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)

    def add_trade(self, time_ms: int, price: int, lots: int, atoms: int) -> list[tuple[str, int]]:
        touched = []
        for interval in INTERVALS:
            start = open_time(interval, time_ms)
            candles = self.klines.setdefault(interval, {})
            candle = candles.get(start)
            if candle is None:
                candles[start] = Candle.first(start, price, lots, atoms)
            else:
                candle.add(price, lots, atoms)
            touched.append((interval, start))
        minute = open_time("1m", time_ms)
        bucket = self.minutes.get(minute)
        if bucket is None:
            self.minutes[minute] = Candle.first(minute, price, lots, atoms)
        else:
            bucket.add(price, lots, atoms)
        self.ticker_dirty = True
        return touched
