"""python-binance (pinned) against the real stack, and Binance's raw and combined streams read
with a plain WebSocket client: a listen key's user data stream, the diff-depth rule against
the REST ``lastUpdateId``, trades, klines, the book ticker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from binance.client import Client  # type: ignore[import-untyped]
from binance.exceptions import BinanceAPIException  # type: ignore[import-untyped]
from websockets.sync.client import connect

from tests.integration.conftest import Stack, start_stack, stop_stack

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, websocket=True)
        try:
            yield running
        finally:
            stop_stack(running)


def client_for(stack: Stack, key: str, secret: str) -> Client:
    client = Client(key, secret, ping=False)
    client.API_URL = stack.base_url + "/api"  # everything else unchanged
    return client


def ws_base(stack: Stack) -> str:
    return stack.ws_url.removesuffix("/ws")


def receive(ws: Any, want: Any, limit: int = 50) -> dict[str, Any]:
    """The first message ``want`` accepts (each read waits at most 10 s)."""
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=10))
        if want(message):
            return message
    raise AssertionError("no such message")


def test_python_binance_trades_and_its_user_stream_follows(stack: Stack) -> None:
    maker_t = stack.funded("pbmaker", SOL="50", USDC="50000")
    taker_t = stack.funded("pbtaker", SOL="50", USDC="50000")
    maker = client_for(stack, maker_t.api.api_key, maker_t.api.api_secret)
    taker = client_for(stack, taker_t.api.api_key, taker_t.api.api_secret)

    info = maker.get_symbol_info("SOLUSDC")
    filters = {f["filterType"]: f for f in info["filters"]}
    assert (filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["stepSize"]) == (
        "0.01", "0.01"
    )  # fmt: skip
    assert filters["MIN_NOTIONAL"]["minNotional"] == filters["NOTIONAL"]["minNotional"] == "1"
    assert maker.get_server_time()["serverTime"] > 0

    listen_key = maker.stream_get_listen_key()
    assert maker.stream_get_listen_key() == listen_key  # one per key, extended
    maker.stream_keepalive(listen_key)
    streams = "solusdc@depth/solusdc@trade/solusdc@kline_1m/solusdc@bookTicker"
    with (
        connect(f"{ws_base(stack)}/ws/{listen_key}") as user,
        connect(f"{ws_base(stack)}/stream?streams={streams}") as market,
    ):
        market.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}))
        listed = receive(market, lambda m: m.get("id") == 7)
        assert sorted(listed["result"]) == sorted(streams.split("/"))
        snapshot = maker.get_order_book(symbol="SOLUSDC", limit=1000)

        placed = maker.order_limit_sell(symbol="SOLUSDC", quantity="2", price="151.50")
        assert placed["status"] == "NEW" and placed["type"] == "LIMIT"
        new = receive(user, lambda m: m.get("e") == "executionReport")
        assert (new["x"], new["X"], new["i"], new["p"], new["q"]) == (
            "NEW", "NEW", placed["orderId"], "151.50", "2.00"
        )  # fmt: skip
        receive(user, lambda m: m.get("e") == "outboundAccountPosition")

        bought = taker.order_market_buy(symbol="SOLUSDC", quantity="0.5")
        assert (bought["status"], bought["executedQty"]) == ("FILLED", "0.5")
        fill = receive(user, lambda m: m.get("e") == "executionReport" and m["x"] == "TRADE")
        assert (fill["X"], fill["l"], fill["L"], fill["z"], fill["m"]) == (
            "PARTIALLY_FILLED", "0.50", "151.50", "0.50", True
        )  # fmt: skip

        # One message of each stream, in the order they came (the first of each kept).
        first: dict[str, dict[str, Any]] = {}
        while len(first) < 4:
            message = json.loads(market.recv(timeout=10))
            first.setdefault(message["stream"], message["data"])
        diff = first["solusdc@depth"]
        assert diff["e"] == "depthUpdate" and diff["s"] == "SOLUSDC"
        # the REST lastUpdateId rule: the first diff after the snapshot covers its id + 1
        assert diff["U"] <= snapshot["lastUpdateId"] + 1 <= diff["u"]
        trade = first["solusdc@trade"]
        assert (trade["p"], trade["q"], trade["m"]) == ("151.50", "0.50", False)
        kline = first["solusdc@kline_1m"]["k"]
        assert (kline["i"], kline["c"]) == ("1m", "151.50")
        top = first["solusdc@bookTicker"]
        assert (top["s"], top["a"], top["A"]) == ("SOLUSDC", "151.50", "2.00")

    with pytest.raises(BinanceAPIException) as refused:
        maker.get_order(symbol="SOLUSDC", orderId=999999999)
    assert (refused.value.code, refused.value.status_code) == (-2013, 400)
    maker.stream_close(listen_key)
    with pytest.raises(BinanceAPIException) as gone:
        maker.stream_keepalive(listen_key)
    assert gone.value.code == -1125
