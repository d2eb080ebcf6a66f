import pytest
from django.db import IntegrityError, transaction

from marketdata.models import KlineInterval
from tests.factories import make_kline

pytestmark = pytest.mark.sqlite


def test_kline_is_refused_when_the_market_interval_and_open_time_repeat(sol_usdc):
    kline = make_kline(sol_usdc, KlineInterval.M1)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_kline(sol_usdc, KlineInterval.M1, open_time=kline.open_time)


def test_kline_is_accepted_when_only_the_interval_differs(sol_usdc):
    kline = make_kline(sol_usdc, KlineInterval.M1)
    make_kline(sol_usdc, KlineInterval.M5, open_time=kline.open_time)


def test_kline_intervals_are_the_public_spellings_when_listed():
    assert KlineInterval.values == [
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w",
    ]  # fmt: skip
