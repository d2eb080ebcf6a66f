"""Trades -> candles and rolling 24 h tickers. Pure: no Django, no clock, no I/O.

Units are the engine's integers (price ticks, quantity lots, quote atoms), so folding and merging
is exact; conversion to Decimal strings happens at the edges (``marketdata.formatting``). The
same functions feed the persister's Kline projection (Postgres) and the publisher's live state,
which is why the two always agree.

Candle layout: ``open_time`` is a unix-ms boundary of the interval (UTC; weeks start on Monday
00:00 like the Rust original); a trade belongs to the candle whose ``[open_time, close_time]``
holds its time in ms. ``open`` is the first trade of the candle in engine order (seq), ``close``
the last one.

Ticker window: the last ``WINDOW_MINUTES`` (1440) one-minute buckets, the current one included,
so a ticker covers between 23 h 59 min and 24 h of trades and slides once a minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# 1970-01-01 was a Thursday: the first Monday 00:00 UTC is four days after the epoch.
_WEEK_OFFSET_MS = 4 * DAY_MS

INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "1w": WEEK_MS,
}
INTERVALS: tuple[str, ...] = tuple(INTERVAL_MS)

# The seed's spellings (``1min``, ``1hour``, ...) and a few common ones, accepted by the REST API.
INTERVAL_ALIASES: dict[str, str] = {
    **{name: name for name in INTERVALS},
    **{f"{n}min": f"{n}m" for n in (1, 3, 5, 15, 30)},
    **{f"{n}hour": f"{n}h" for n in (1, 2, 4, 6, 12)},
    **{f"{n}H": f"{n}h" for n in (1, 2, 4, 6, 12)},
    "1day": "1d",
    "1D": "1d",
    "1week": "1w",
    "1W": "1w",
}

WINDOW_MINUTES = 1440


def open_time(interval: str, time_ms: int) -> int:
    """The open time (unix ms) of the ``interval`` candle holding ``time_ms``."""
    size = INTERVAL_MS[interval]
    offset = _WEEK_OFFSET_MS if interval == "1w" else 0
    return (time_ms - offset) // size * size + offset


def close_time(interval: str, open_ms: int) -> int:
    """The last millisecond of the candle opened at ``open_ms``."""
    return open_ms + INTERVAL_MS[interval] - 1


@dataclass(slots=True)
class Candle:
    """One candle in integer units: prices in ticks, volume in lots, quote volume in atoms."""

    open_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    trades: int

    @classmethod
    def first(cls, open_ms: int, price: int, lots: int, quote_atoms: int) -> Candle:
        return cls(open_ms, price, price, price, price, lots, quote_atoms, 1)

    def add(self, price: int, lots: int, quote_atoms: int) -> None:
        """Fold in a trade that comes after every trade already in the candle."""
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price
        self.volume += lots
        self.quote_volume += quote_atoms
        self.trades += 1

    def merge_later(self, later: Candle) -> None:
        """Fold in ``later``: the same candle's trades that come after this one's."""
        self.high = max(self.high, later.high)
        self.low = min(self.low, later.low)
        self.close = later.close
        self.volume += later.volume
        self.quote_volume += later.quote_volume
        self.trades += later.trades

    def copy(self) -> Candle:
        return Candle(
            self.open_time,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.quote_volume,
            self.trades,
        )


@dataclass(frozen=True, slots=True)
class TradePoint:
    """What aggregation needs of a trade, in engine units and engine order."""

    symbol: str
    time_ms: int
    price: int
    lots: int
    quote_atoms: int


CandleKey = tuple[str, str, int]  # (symbol, interval, open_time)


def fold_trades(
    trades: Iterable[TradePoint], intervals: Iterable[str] = INTERVALS
) -> dict[CandleKey, Candle]:
    """Every candle the trades touch, folded in memory: one entry per (symbol, interval, open)."""
    names = tuple(intervals)
    out: dict[CandleKey, Candle] = {}
    for t in trades:
        for interval in names:
            key = (t.symbol, interval, open_time(interval, t.time_ms))
            candle = out.get(key)
            if candle is None:
                out[key] = Candle.first(key[2], t.price, t.lots, t.quote_atoms)
            else:
                candle.add(t.price, t.lots, t.quote_atoms)
    return out


def window_start(now_ms: int) -> int:
    """Open time of the oldest one-minute bucket in the ticker window at ``now_ms``."""
    return open_time("1m", now_ms) - (WINDOW_MINUTES - 1) * MINUTE_MS


def window_close(now_ms: int) -> int:
    """Close time of the current one-minute bucket (the window's end)."""
    return close_time("1m", open_time("1m", now_ms))


def window_parts(now_ms: int) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """The window as ``[start, end)`` ranges of open times: 1m, then 1h, then 1m candles.

    Whole hours come from 1h candles, so a ticker reads at most ~143 candles, not 1440. Candles
    compose exactly (sums add, high/low take max/min), so this equals folding 1440 minutes.
    """
    start = window_start(now_ms)
    first_hour = -(-start // HOUR_MS) * HOUR_MS
    current_hour = open_time("1h", now_ms)
    end = open_time("1m", now_ms) + MINUTE_MS
    return (start, first_hour), (first_hour, current_hour), (current_hour, end)


@dataclass(frozen=True, slots=True)
class TickerStats:
    """Rolling-window statistics in integer units; prices are None if nothing ever traded."""

    open_time: int
    close_time: int
    open: int | None
    high: int | None
    low: int | None
    last: int | None
    volume: int
    quote_volume: int
    trades: int

    @property
    def change(self) -> int | None:
        if self.open is None or self.last is None:
            return None
        return self.last - self.open


def ticker(candles: Iterable[Candle], now_ms: int, last_before: int | None) -> TickerStats:
    """Fold the window's candles (any intervals, not overlapping) into a ticker.

    ``last_before`` is the last trade price before the window: with no trade in the window the
    prices all equal it (and volumes are zero), as on a quiet market.
    """
    start = window_start(now_ms)
    inside = sorted((c for c in candles if c.open_time >= start), key=lambda c: c.open_time)
    if not inside:
        p = last_before
        return TickerStats(start, window_close(now_ms), p, p, p, p, 0, 0, 0)
    return TickerStats(
        open_time=start,
        close_time=window_close(now_ms),
        open=inside[0].open,
        high=max(c.high for c in inside),
        low=min(c.low for c in inside),
        last=inside[-1].close,
        volume=sum(c.volume for c in inside),
        quote_volume=sum(c.quote_volume for c in inside),
        trades=sum(c.trades for c in inside),
    )


def percent_change(open_ticks: int | None, last_ticks: int | None) -> str | None:
    """``(last - open) / open * 100`` to two decimal places (half to even), as a string."""
    if open_ticks is None or last_ticks is None or open_ticks <= 0:
        return None
    hundredths = round(Fraction(last_ticks - open_ticks, open_ticks) * 10_000)
    sign = "-" if hundredths < 0 else ""
    whole, frac = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{frac:02d}"
