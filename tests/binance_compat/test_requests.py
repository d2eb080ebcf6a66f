"""/api/v3 request security and refusals, without a matcher: every refusal is Binance's body
with its code and HTTP status, never a 5xx; and the /api/v1 schema stays free of /api/v3."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from accounts import services as account_services
from tests.binance_compat.client import BinanceClient, sign
from tests.factories import make_kline, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(api_env: None, markets: Any) -> BinanceClient:
    return BinanceClient.for_user(make_user("bot"))


def refusal(resp: Any) -> tuple[int, int]:
    body = resp.json()
    assert set(body) == {"code", "msg"}, body
    return resp.status_code, body["code"]


def order(**extra: str) -> dict[str, str]:
    return {"symbol": "SOLUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "price": "10", "quantity": "1", **extra}  # fmt: skip


def test_signed_endpoint_without_a_key_is_minus_2014(bot: BinanceClient) -> None:
    resp = Client().get("/api/v3/account?timestamp=1&signature=00")
    assert refusal(resp) == (401, -2014)


def test_unknown_key_is_minus_2015(bot: BinanceClient) -> None:
    assert refusal(bot.signed("GET", "account", key="f" * 32)) == (401, -2015)


def test_wrong_signature_is_minus_1022(bot: BinanceClient) -> None:
    assert refusal(bot.signed("GET", "account", secret="wrong")) == (400, -1022)


def test_missing_signature_or_timestamp_is_minus_1102(bot: BinanceClient) -> None:
    headers = {"X-MBX-APIKEY": bot.api_key.key_id}
    resp = bot.client.get(f"/api/v3/account?timestamp={int(time.time() * 1000)}", headers=headers)
    assert refusal(resp) == (400, -1102)
    query = "recvWindow=5000"
    resp = bot.client.get(
        f"/api/v3/account?{query}&signature={sign(bot.secret, query)}", headers=headers
    )
    assert refusal(resp) == (400, -1102)


def test_old_or_future_timestamp_is_minus_1021(bot: BinanceClient) -> None:
    now = int(time.time() * 1000)
    assert refusal(bot.signed("GET", "account", timestamp_ms=now - 6000)) == (400, -1021)
    assert refusal(bot.signed("GET", "account", timestamp_ms=now + 2000)) == (400, -1021)
    wider = bot.signed("GET", "account", {"recvWindow": "10000"}, timestamp_ms=now - 6000)
    assert wider.status_code == 200, wider.content
    assert refusal(bot.signed("GET", "account", {"recvWindow": "60001"})) == (400, -1131)


def test_signature_covers_query_and_body_together(bot: BinanceClient) -> None:
    """Binance's rule: HMAC(query string + body); parameters may be split between them."""
    query = f"symbol=SOLUSDC&timestamp={int(time.time() * 1000)}"
    body = "side=BUY&type=LIMIT&timeInForce=GTC&price=10.001&quantity=1"
    signature = sign(bot.secret, query + body)
    resp = bot.client.post(
        f"/api/v3/order/test?{query}&signature={signature}",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-MBX-APIKEY": bot.api_key.key_id},
    )
    assert refusal(resp) == (400, -1013)  # signed correctly; the price is off the tick


def test_revoked_or_read_only_key_may_not_trade(bot: BinanceClient) -> None:
    reader = BinanceClient.for_user(bot.user, "read")
    assert refusal(reader.signed("POST", "order/test", order())) == (401, -2015)
    account_services.api_key_revoke(bot.api_key)
    assert refusal(bot.signed("GET", "account")) == (401, -2015)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"symbol": "NOPEUSDC"}, (400, -1121)),
        ({"price": "1e1"}, (400, -1100)),
        ({"price": "-1"}, (400, -1100)),
        ({"price": "10.001"}, (400, -1013)),
        ({"quantity": "0.001"}, (400, -1013)),
        ({"price": "0.01"}, (400, -1013)),  # below the minimum notional
        ({"side": "HOLD"}, (400, -1117)),
        ({"type": "STOP_LOSS"}, (400, -2010)),
        ({"type": "OCO"}, (400, -1116)),
        ({"timeInForce": "GTX"}, (400, -1115)),
        ({"selfTradePreventionMode": "NONE"}, (400, -1130)),
        ({"newClientOrderId": "a/b"}, (400, -1100)),
        ({"postOnly": "true"}, (400, -1104)),
        ({"icebergQty": "1"}, (400, -2010)),
        ({"symbol": ""}, (400, -1105)),
    ],
)
def test_bad_orders_get_binance_codes(
    bot: BinanceClient, params: dict[str, str], expected: Any
) -> None:
    assert refusal(bot.signed("POST", "order/test", order(**params))) == expected


def test_missing_and_contradictory_parameters(bot: BinanceClient) -> None:
    no_price = order()
    del no_price["price"]
    assert refusal(bot.signed("POST", "order/test", no_price)) == (400, -1102)
    market = {"symbol": "SOLUSDC", "side": "BUY", "type": "MARKET"}
    assert refusal(bot.signed("POST", "order/test", market)) == (400, -1102)
    assert refusal(bot.signed("POST", "order/test", {**market, "quantity": "1", "price": "1"})) == (
        400,
        -1106,
    )
    sell_by_quote = {**market, "side": "SELL", "quoteOrderQty": "10"}
    assert refusal(bot.signed("POST", "order/test", sell_by_quote)) == (400, -1014)
    duplicated = "symbol=SOLUSDC&symbol=SOLUSDC"
    resp = bot.client.get(f"/api/v3/depth?{duplicated}")
    assert refusal(resp) == (400, -1101)


def test_throttled_requests_get_429_with_retry_after(bot: BinanceClient, settings: Any) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    statuses = [bot.signed("GET", "account").status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    resp = bot.signed("GET", "account")
    assert refusal(resp) == (429, -1003) and int(resp["Retry-After"]) > 0


def test_public_endpoints(bot: BinanceClient, markets: Any) -> None:
    assert bot.public("ping").json() == {}
    assert abs(bot.public("time").json()["serverTime"] - time.time() * 1000) < 5000
    info = bot.public("exchangeInfo", symbol="SOLUSDC").json()
    [symbol] = info["symbols"]
    assert (symbol["symbol"], symbol["baseAsset"], symbol["quoteAsset"], symbol["status"]) == (
        "SOLUSDC", "SOL", "USDC", "TRADING"
    )  # fmt: skip
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert (filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["minQty"]) == ("0.01", "0.01")
    assert filters["NOTIONAL"]["minNotional"] == "1"
    assert len(bot.public("exchangeInfo").json()["symbols"]) == 3
    many = bot.public("exchangeInfo", symbols='["SOLUSDC","BTCUSDC"]').json()["symbols"]
    assert [s["symbol"] for s in many] == ["BTCUSDC", "SOLUSDC"]
    book = bot.public("depth", symbol="SOLUSDC").json()
    assert book == {"lastUpdateId": 0, "bids": [], "asks": []}
    assert refusal(bot.public("depth", symbol="NOPE")) == (400, -1121)
    assert refusal(bot.public("depth")) == (400, -1102)
    assert refusal(bot.public("klines", symbol="SOLUSDC", interval="7m")) == (400, -1120)
    assert refusal(bot.public("nothing/here")) == (404, -1020)
    assert bot.public("ticker/price", symbol="SOLUSDC").json() == {
        "symbol": "SOLUSDC",
        "price": "0.00",
    }
    assert bot.public("ticker/bookTicker", symbol="SOLUSDC").json()["bidQty"] == "0.00"
    ticker = bot.public("ticker/24hr", symbol="SOLUSDC").json()
    assert (ticker["count"], ticker["firstId"], ticker["lastId"]) == (0, -1, -1)


def test_klines_are_arrays_in_binance_order(bot: BinanceClient, markets: Any) -> None:
    make_kline(
        markets["SOL_USDC"],
        open=10,
        high=12,
        low=9,
        close=11,
        volume=3,
        quote_volume=31,
        trade_count=2,
    )
    [candle] = bot.public("klines", symbol="SOLUSDC", interval="1m").json()
    assert candle[1:6] == ["10.00", "12.00", "9.00", "11.00", "3.00"]
    assert (candle[6] - candle[0], candle[7], candle[8], candle[9:]) == (
        59_999, "31.000000", 2, [None, None, "0"]
    )  # fmt: skip
    avg = bot.public("avgPrice", symbol="SOLUSDC").json()
    assert (avg["mins"], avg["price"]) == (5, "10.333333")


def test_api_v1_schema_does_not_list_api_v3(api_env: None) -> None:
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/order" in schema and "/api/v3" not in schema


@pytest.mark.parametrize(
    "path",
    [
        "/api/v3/depth?symbol=%00",
        "/api/v3/depth?symbol=SOLUSDC&limit=99999999999999999999",
        "/api/v3/depth?symbol=SOLUSDC&limit=-1",
        "/api/v3/klines?symbol=SOLUSDC&interval=1m&startTime=999999999999999999",
        "/api/v3/klines?symbol=SOLUSDC&interval=1m&startTime=5&endTime=1",
        "/api/v3/aggTrades?symbol=SOLUSDC&fromId=9223372036854775808",
        "/api/v3/trades?symbol=" + "A" * 5000,
        "/api/v3/ticker/24hr?symbols=%5B1%2C2%5D",
        "/api/v3/ticker/price?symbols=nope",
        "/api/v3/exchangeInfo?symbol=%E2%82%AC",
        "/api/v3/avgPrice?symbol=",
    ],
)
def test_bad_public_input_is_a_4xx_binance_body(bot: BinanceClient, path: str) -> None:
    resp = bot.client.get(path)
    assert 400 <= resp.status_code < 500, resp.content
    assert set(resp.json()) == {"code", "msg"}


@pytest.mark.parametrize(
    "params",
    [
        {"price": "9" * 20 + "." + "9" * 20},
        {"quantity": "99999999999999999999"},
        {"price": "0.00000000000000000001"},
        {"timeInForce": "\u20ac"},
        {"newOrderRespType": "FULLER"},
        {"recvWindow": "NaN"},
        {"recvWindow": "1.0001"},
    ],
)
def test_bad_order_input_is_a_4xx_binance_body(bot: BinanceClient, params: dict[str, str]) -> None:
    resp = bot.signed("POST", "order/test", order(**params))
    assert 400 <= resp.status_code < 500, resp.content
    assert set(resp.json()) == {"code", "msg"}
