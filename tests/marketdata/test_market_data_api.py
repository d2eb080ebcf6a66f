"""GET /api/v1/depth, /trades, /klines, /tickers: shapes, precision, ordering, bad input."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from marketdata import projections
from marketdata.aggregation import open_time
from matching.engine import Depth
from matching.events import TradeExecuted
from matching.types import Side
from pipeline.keys import shard_keys
from pipeline.packing import pack_depth
from pipeline.wire import connect
from tests import factories

pytestmark = pytest.mark.usefixtures("api_env")


def set_depth(symbol, last_update_id, bids, asks):
    client = connect(settings.REDIS_URL)
    client.set(
        shard_keys("s0").depth(symbol), pack_depth(Depth(symbol, last_update_id, bids, asks))
    )


def trade_event(seq, price, lots, ms, taker_side=Side.BUY):
    return TradeExecuted(
        seq, "c", ms * 1_000_000, "SOL_USDC", seq, price, lots, price * lots * 100, taker_side,
        1, 2, 1, 2, 0, "USDC", 0, "SOL", lots, 0, lots, 0,
    )  # fmt: skip


# --- depth -----------------------------------------------------------------------


def test_depth_returns_the_live_book_when_the_matcher_published_one(client, sol_usdc):
    set_depth("SOL_USDC", 42, [(2001, 150), (2000, 5)], [(2002, 7)])
    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).json()
    assert body == {
        "symbol": "SOL_USDC",
        "last_update_id": 42,
        "bids": [["20.01", "1.50"], ["20.00", "0.05"]],
        "asks": [["20.02", "0.07"]],
    }


def test_depth_truncates_each_side_when_a_limit_is_given(client, sol_usdc):
    set_depth("SOL_USDC", 3, [(2001, 1), (2000, 1)], [(2002, 1), (2003, 1)])
    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "1"}).json()
    assert (len(body["bids"]), len(body["asks"])) == (1, 1)


def test_depth_is_empty_when_the_market_never_had_an_order(client, sol_usdc):
    body = client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).json()
    assert body == {"symbol": "SOL_USDC", "last_update_id": 0, "bids": [], "asks": []}


# --- bad input, table-driven ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/depth", {}, "missing_parameter"),
        ("/api/v1/depth", {"symbol": "NOPE_USDC"}, "unknown_symbol"),
        ("/api/v1/depth", {"symbol": "x" * 5000}, "unknown_symbol"),
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "0"}, "invalid_limit"),
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "1001"}, "invalid_limit"),
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "-5"}, "invalid_limit"),
        ("/api/v1/depth", {"symbol": "SOL_USDC", "limit": "1e3"}, "invalid_limit"),
        ("/api/v1/trades", {"symbol": "SOL_USDC", "limit": "abc"}, "invalid_limit"),
        (
            "/api/v1/trades",
            {"symbol": "SOL_USDC", "limit": "99999999999999999999"},
            "invalid_limit",
        ),
        ("/api/v1/klines", {"symbol": "SOL_USDC"}, "invalid_interval"),
        ("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "7m"}, "invalid_interval"),
        (
            "/api/v1/klines",
            {"symbol": "SOL_USDC", "interval": "1m", "start_time": "x"},
            "invalid_time",
        ),
        (
            "/api/v1/klines",
            {"symbol": "SOL_USDC", "interval": "1m", "start_time": "5", "end_time": "4"},
            "invalid_time_range",
        ),
        ("/api/v1/tickers", {"symbol": "NOPE_USDC"}, "unknown_symbol"),
    ],
)
def test_bad_parameters_get_a_400_with_a_stable_code_when_sent(
    client, sol_usdc, path, params, code
):
    response = client.get(path, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


# --- trades -----------------------------------------------------------------------


def test_trades_are_newest_first_without_user_ids_when_listed(client, sol_usdc, alice, bob):
    maker = factories.make_order(alice, sol_usdc, side="sell")
    taker = factories.make_order(bob, sol_usdc, side="buy")
    factories.make_trade(maker, taker, trade_id=1, taker_side="buy")
    factories.make_trade(maker, taker, trade_id=2, taker_side="sell")
    body = client.get("/api/v1/trades", {"symbol": "SOL_USDC", "limit": "5"}).json()
    assert [t["id"] for t in body] == [2, 1]
    assert set(body[0]) == {"id", "price", "quantity", "quote_quantity", "time", "is_buyer_maker"}
    assert body[0]["price"] == "20.00" and body[0]["quantity"] == "1.00"
    assert body[0]["quote_quantity"] == "20.000000"
    assert (body[0]["is_buyer_maker"], body[1]["is_buyer_maker"]) == (True, False)
    assert isinstance(body[0]["time"], int)


# --- klines -----------------------------------------------------------------------


def test_klines_are_oldest_first_with_the_live_candle_when_listed(client, sol_usdc):
    now = time.time_ns() // 1_000_000
    minute = open_time("1m", now)
    projections.apply_events(
        [
            trade_event(1, 2000, 100, minute - 120_000),
            trade_event(2, 2100, 100, minute - 60_000),
            trade_event(3, 2200, 10, now),
        ]
    )
    body = client.get("/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1min"}).json()
    assert [k["open_time"] for k in body] == [minute - 120_000, minute - 60_000, minute]
    assert body[-1] == {
        "open_time": minute,
        "close_time": minute + 59_999,
        "open": "22.00",
        "high": "22.00",
        "low": "22.00",
        "close": "22.00",
        "volume": "0.10",
        "quote_volume": "2.200000",
        "trades": 1,
    }
    since = client.get(
        "/api/v1/klines",
        {"symbol": "SOL_USDC", "interval": "1m", "startTime": minute - 60_000, "limit": 1},
    ).json()
    assert [k["open_time"] for k in since] == [minute - 60_000]
    until = client.get(
        "/api/v1/klines", {"symbol": "SOL_USDC", "interval": "1m", "end_time": minute - 1}
    ).json()
    assert [k["open_time"] for k in until] == [minute - 120_000, minute - 60_000]


# --- tickers -----------------------------------------------------------------------


def test_ticker_covers_the_rolling_day_with_best_prices_when_asked(client, markets):
    now = time.time_ns() // 1_000_000
    projections.apply_events(
        [
            trade_event(1, 1000, 100, now - 25 * 3_600_000),  # outside the window
            trade_event(2, 2000, 100, now - 23 * 3_600_000),
            trade_event(3, 2500, 10, now - 3_600_000),
            trade_event(4, 2200, 10, now),
        ]
    )
    set_depth("SOL_USDC", 9, [(2199, 1)], [(2201, 1)])
    body = client.get("/api/v1/tickers", {"symbol": "SOL_USDC"}).json()
    assert body["open_price"] == "20.00"
    assert body["high"] == "25.00" and body["low"] == "20.00"
    assert body["last_price"] == "22.00"
    assert body["price_change"] == "2.00" and body["price_change_percent"] == "10.00"
    assert body["volume"] == "1.20" and body["trades"] == 3
    assert (body["best_bid"], body["best_ask"]) == ("21.99", "22.01")
    assert body["close_time"] - body["open_time"] + 1 == 1440 * 60_000
    every = client.get("/api/v1/tickers").json()
    assert [t["symbol"] for t in every] == ["BTC_USDC", "ETH_USDC", "SOL_USDC"]
    quiet = next(t for t in every if t["symbol"] == "BTC_USDC")
    assert (quiet["last_price"], quiet["trades"], quiet["price_change"]) == (None, 0, None)


def test_ticker_of_a_quiet_day_shows_the_last_price_when_nothing_traded_recently(client, sol_usdc):
    now = time.time_ns() // 1_000_000
    projections.apply_events([trade_event(1, 1500, 1, now - 30 * 3_600_000)])
    body = client.get("/api/v1/tickers", {"symbol": "SOL_USDC"}).json()
    assert (body["last_price"], body["open_price"], body["trades"]) == ("15.00", "15.00", 0)
    assert body["price_change"] == "0.00" and body["price_change_percent"] == "0.00"


def test_public_endpoints_ignore_a_bad_signature_when_reading(client, sol_usdc):
    response = client.get(
        "/api/v1/trades", {"symbol": "SOL_USDC"}, HTTP_X_API_KEY="nope", HTTP_X_SIGNATURE="bad"
    )
    assert response.status_code == 200


def test_public_market_data_is_throttled_per_address_when_the_anon_rate_is_spent(
    client, sol_usdc, settings
):
    rates = dict.fromkeys(("anon", "user", "signup", "orders"), "1000/min")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "anon": "2/min"},
    }
    codes = [client.get("/api/v1/depth", {"symbol": "SOL_USDC"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
