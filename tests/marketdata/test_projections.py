"""The persister's Kline projection: one row per touched candle, merged across batches."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.clock import ms_to_datetime
from marketdata import projections
from marketdata.aggregation import INTERVALS, open_time
from marketdata.models import Kline
from matching.events import TradeExecuted
from matching.types import Side

pytestmark = pytest.mark.sqlite

T_MS = 1_704_277_062_123


def trade(seq, price, lots, ms=T_MS):
    # SOL_USDC demo spec: price ticks of 0.01 USDC, lots of 0.01 SOL -> quote atoms = p*l*100
    return TradeExecuted(
        seq, "c", ms * 1_000_000, "SOL_USDC", seq, price, lots, price * lots * 100, Side.BUY,
        1, 2, 1, 2, 0, "USDC", 0, "SOL", lots, 0, lots, 0,
    )  # fmt: skip


def test_apply_events_writes_one_candle_per_interval_when_a_batch_has_trades(sol_usdc):
    projections.apply_events([trade(1, 2000, 100), trade(2, 2100, 50), trade(3, 1900, 10)])
    assert Kline.objects.count() == len(INTERVALS)
    row = Kline.objects.get(interval="1m")
    assert row.open_time == ms_to_datetime(open_time("1m", T_MS))
    assert (row.open, row.high, row.low, row.close) == tuple(
        Decimal(v) for v in ("20.00", "21.00", "19.00", "19.00")
    )
    assert row.volume == Decimal("1.60")
    assert row.trade_count == 3


def test_apply_events_merges_into_the_stored_candle_when_a_later_batch_touches_it(sol_usdc):
    projections.apply_events([trade(1, 2000, 100)])
    projections.apply_events([trade(2, 2500, 10), trade(3, 2200, 10)])
    row = Kline.objects.get(interval="1w")
    assert (row.open, row.high, row.low, row.close) == tuple(
        Decimal(v) for v in ("20.00", "25.00", "20.00", "22.00")
    )
    assert row.volume == Decimal("1.20")
    assert row.quote_volume == Decimal("24.70")
    assert row.trade_count == 3


def test_apply_events_opens_a_new_candle_when_the_minute_changes(sol_usdc):
    projections.apply_events([trade(1, 2000, 1), trade(2, 2001, 1, ms=T_MS + 60_000)])
    assert Kline.objects.filter(interval="1m").count() == 2
    assert Kline.objects.filter(interval="1h").get().trade_count == 2


def test_apply_events_uses_three_queries_when_the_batch_has_many_trades(
    sol_usdc, django_assert_max_num_queries
):
    projections.apply_events([trade(1, 2000, 1)])
    with django_assert_max_num_queries(3):
        projections.apply_events([trade(i, 2000 + i, 1) for i in range(2, 200)])
