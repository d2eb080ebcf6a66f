"""Pure trades -> candles/tickers: table-driven boundaries, and folding split batches equals
folding them all at once (what the persister relies on when it merges a batch into a row)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.aggregation import (
    DAY_MS,
    HOUR_MS,
    INTERVAL_ALIASES,
    INTERVALS,
    MINUTE_MS,
    Candle,
    TradePoint,
    close_time,
    fold_trades,
    open_time,
    percent_change,
    ticker,
    window_parts,
    window_start,
)

# 2024-01-03 (a Wednesday) 10:17:42.123 UTC
T = 1_704_277_062_123
MONDAY = 1_704_067_200_000  # 2024-01-01 00:00 UTC


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("1m", T - 42_123),
        ("3m", T - (2 * MINUTE_MS + 42_123)),  # 10:15
        ("5m", T - (2 * MINUTE_MS + 42_123)),  # 10:15
        ("15m", T - (2 * MINUTE_MS + 42_123)),
        ("30m", T - (17 * MINUTE_MS + 42_123)),
        ("1h", T - (17 * MINUTE_MS + 42_123)),
        ("2h", T - (17 * MINUTE_MS + 42_123)),  # 10:00
        ("4h", T - (2 * HOUR_MS + 17 * MINUTE_MS + 42_123)),  # 08:00
        ("6h", T - (4 * HOUR_MS + 17 * MINUTE_MS + 42_123)),  # 06:00
        ("12h", T - (10 * HOUR_MS + 17 * MINUTE_MS + 42_123)),  # 00:00
        ("1d", T - (10 * HOUR_MS + 17 * MINUTE_MS + 42_123)),
        ("1w", MONDAY),
    ],
)
def test_open_time_is_the_utc_boundary_when_a_trade_falls_inside(interval, expected):
    assert open_time(interval, T) == expected
    assert open_time(interval, expected) == expected
    assert close_time(interval, expected) + 1 == open_time(
        interval, close_time(interval, expected) + 1
    )


def test_open_time_of_a_week_is_monday_when_the_trade_is_on_sunday_night():
    sunday_late = MONDAY + 7 * DAY_MS - 1
    assert open_time("1w", sunday_late) == MONDAY


def test_interval_aliases_map_the_seed_spellings_when_given():
    assert INTERVAL_ALIASES["1min"] == "1m"
    assert INTERVAL_ALIASES["4hour"] == "4h"
    assert INTERVAL_ALIASES["1week"] == "1w"
    assert all(INTERVAL_ALIASES[name] == name for name in INTERVALS)


def test_fold_trades_keeps_first_as_open_and_last_as_close_when_in_one_candle():
    trades = [TradePoint("SOL_USDC", T + i, p, 2, p * 2) for i, p in enumerate([10, 12, 9, 11])]
    candle = fold_trades(trades, ["1m"])[("SOL_USDC", "1m", open_time("1m", T))]
    assert candle == Candle(open_time("1m", T), 10, 12, 9, 11, 8, 84, 4)


def test_fold_trades_splits_candles_when_a_boundary_passes():
    start = open_time("1m", T)
    trades = [
        TradePoint("S", start + MINUTE_MS - 1, 5, 1, 5),
        TradePoint("S", start + MINUTE_MS, 6, 1, 6),
    ]
    folded = fold_trades(trades, ["1m", "1h"])
    assert folded[("S", "1m", start)].close == 5
    assert folded[("S", "1m", start + MINUTE_MS)].open == 6
    assert folded[("S", "1h", open_time("1h", T))].trades == 2


trade_lists = st.lists(
    st.tuples(st.integers(0, 3 * HOUR_MS), st.integers(1, 10**6), st.integers(1, 10**9)),
    min_size=1,
    max_size=40,
)


@given(trade_lists, st.integers(0, 40))
def test_merging_split_batches_equals_one_fold_when_batches_follow_in_order(raw, cut):
    trades = [TradePoint("S", T + t, p, q, p * q) for t, p, q in raw]
    whole = fold_trades(trades)
    merged = {k: v.copy() for k, v in fold_trades(trades[:cut]).items()}
    for key, later in fold_trades(trades[cut:]).items():
        if key in merged:
            merged[key].merge_later(later)
        else:
            merged[key] = later
    assert merged == whole


def test_window_parts_cover_exactly_1440_minutes_when_split_into_hours():
    now = T
    (a, b), (c, d), (e, f) = window_parts(now)
    assert a == window_start(now)
    assert b == c and d == e
    assert c % HOUR_MS == 0 and d % HOUR_MS == 0
    assert f - a == 1440 * MINUTE_MS


@given(trade_lists)
def test_ticker_from_hours_and_minutes_equals_ticker_from_minutes_when_same_trades(raw):
    # Trade times follow engine order here (a command's time is taken when it is sent; skew
    # between web processes is milliseconds).
    now = T + 3 * HOUR_MS
    trades = [TradePoint("S", T + t, p, q, p * q) for t, p, q in sorted(raw)]
    minutes = [c for (_, i, _), c in fold_trades(trades, ["1m"]).items()]
    (a, b), (c, d), (e, f) = window_parts(now)
    hours = fold_trades(trades, ["1m", "1h"])
    mixed = [
        candle
        for (_, interval, start), candle in hours.items()
        if (interval == "1m" and (a <= start < b or e <= start < f))
        or (interval == "1h" and c <= start < d)
    ]
    assert ticker(mixed, now, None) == ticker(minutes, now, None)


def test_ticker_prices_equal_the_last_price_when_nothing_traded_in_the_window():
    stats = ticker([], T, 1234)
    assert (stats.open, stats.high, stats.low, stats.last, stats.volume) == (
        1234,
        1234,
        1234,
        1234,
        0,
    )
    assert stats.change == 0


def test_ticker_ignores_candles_when_they_are_older_than_the_window():
    old = Candle(window_start(T) - MINUTE_MS, 5, 5, 5, 5, 1, 5, 1)
    new = Candle(window_start(T), 7, 9, 6, 8, 2, 16, 2)
    stats = ticker([old, new], T, None)
    assert (stats.open, stats.high, stats.low, stats.last, stats.trades) == (7, 9, 6, 8, 2)


@pytest.mark.parametrize(
    ("open_", "last", "expected"),
    [
        (100, 101, "1.00"),
        (100, 99, "-1.00"),
        (3, 4, "33.33"),
        (3, 2, "-33.33"),
        (8, 9, "12.50"),  # exactly half: to even
        (100, 100, "0.00"),
        (None, 5, None),
    ],
)
def test_percent_change_rounds_to_two_places_when_computed(open_, last, expected):
    assert percent_change(open_, last) == expected
