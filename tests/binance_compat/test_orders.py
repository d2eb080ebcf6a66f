"""/api/v3 order endpoints through the real matcher and persister (in-process pipeline)."""

from decimal import Decimal as D

import pytest

from tests.api import Api
from tests.binance_compat.client import BinanceClient
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def maker(pipeline):
    user = make_user("maker")
    Api.for_user(user).fund(SOL="100", USDC="10000")
    return BinanceClient.for_user(user)


@pytest.fixture
def taker(pipeline):
    user = make_user("taker")
    Api.for_user(user).fund(SOL="100", USDC="10000")
    return BinanceClient.for_user(user)


def limit(side="BUY", price="10.50", qty="2", **extra):
    return {"symbol": "SOLUSDC", "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "price": price, "quantity": qty, **extra}  # fmt: skip


def test_limit_order_rests_as_new_with_the_full_reply(maker):
    resp = maker.signed("POST", "order", limit(newClientOrderId="bot-1"))
    assert resp.status_code == 200, resp.content
    order = resp.json()
    assert order["symbol"] == "SOLUSDC" and order["clientOrderId"] == "bot-1"
    assert (order["status"], order["price"], order["origQty"], order["executedQty"]) == (
        "NEW",
        "10.5",
        "2",
        "0",
    )
    assert (order["type"], order["side"], order["timeInForce"], order["fills"]) == (
        "LIMIT",
        "BUY",
        "GTC",
        [],
    )
    assert order["selfTradePreventionMode"] == "EXPIRE_TAKER" and order["orderListId"] == -1


def test_crossing_order_is_filled_with_binance_fills(maker, taker):
    maker.signed("POST", "order", limit("SELL", "20", "1"))
    resp = taker.signed("POST", "order", limit("BUY", "21", "1"))
    order = resp.json()
    assert (order["status"], order["executedQty"], order["cummulativeQuoteQty"]) == (
        "FILLED",
        "1",
        "20",
    )
    assert order["fills"] == [
        {"price": "20", "qty": "1", "commission": "0.002", "commissionAsset": "SOL", "tradeId": 1}
    ]


def test_response_types_ack_and_result(maker):
    ack = maker.signed("POST", "order", limit(newOrderRespType="ACK")).json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = maker.signed("POST", "order", limit(newOrderRespType="RESULT")).json()
    assert "fills" not in result and result["status"] == "NEW"


def test_limit_maker_that_would_take_is_rejected_with_binance_message(maker, taker):
    maker.signed("POST", "order", limit("SELL", "20", "1"))
    maker_only = {**limit("BUY", "20", "1"), "type": "LIMIT_MAKER"}
    del maker_only["timeInForce"]
    resp = taker.signed("POST", "order", maker_only)
    assert resp.status_code == 400
    assert resp.json() == {"code": -2010, "msg": "Order would immediately match and take."}


def test_fok_that_cannot_fill_answers_expired(maker, taker):
    maker.signed("POST", "order", limit("SELL", "20", "1"))
    resp = taker.signed("POST", "order", limit("BUY", "20", "5", timeInForce="FOK"))
    assert resp.status_code == 200, resp.content
    assert (resp.json()["status"], resp.json()["executedQty"]) == ("EXPIRED", "0")


def test_market_buy_by_quote_amount(maker, taker):
    maker.signed("POST", "order", limit("SELL", "20", "3"))
    resp = taker.signed(
        "POST",
        "order",
        {"symbol": "SOLUSDC", "side": "BUY", "type": "MARKET", "quoteOrderQty": "40"},
    )
    order = resp.json()
    assert (order["status"], order["executedQty"], order["cummulativeQuoteQty"]) == (
        "FILLED",
        "2",
        "40",
    )
    assert (order["type"], order["origQuoteOrderQty"], order["origQty"]) == ("MARKET", "40", "0")


def test_query_cancel_and_lists(maker):
    placed = maker.signed("POST", "order", limit(newClientOrderId="q-1")).json()
    got = maker.signed("GET", "order", {"symbol": "SOLUSDC", "orderId": placed["orderId"]}).json()
    assert (got["status"], got["isWorking"], got["clientOrderId"]) == ("NEW", True, "q-1")
    by_client = maker.signed("GET", "order", {"symbol": "SOLUSDC", "origClientOrderId": "q-1"})
    assert by_client.json()["orderId"] == placed["orderId"]
    opened = maker.signed("GET", "openOrders", {"symbol": "SOLUSDC"}).json()
    assert [o["orderId"] for o in opened] == [placed["orderId"]]
    cancelled = maker.signed("DELETE", "order", {"symbol": "SOLUSDC", "orderId": placed["orderId"]})
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["status"], body["origClientOrderId"]) == ("CANCELED", "q-1")
    again = maker.signed("DELETE", "order", {"symbol": "SOLUSDC", "orderId": placed["orderId"]})
    assert (again.status_code, again.json()) == (400, {"code": -2011, "msg": "Unknown order sent."})
    history = maker.signed("GET", "allOrders", {"symbol": "SOLUSDC"}).json()
    assert [(o["orderId"], o["status"]) for o in history] == [(placed["orderId"], "CANCELED")]


def test_cancel_all_then_nothing_left(maker):
    for price in ("10", "11"):
        maker.signed("POST", "order", limit(price=price))
    resp = maker.signed("DELETE", "openOrders", {"symbol": "SOLUSDC"})
    assert [o["status"] for o in resp.json()] == ["CANCELED", "CANCELED"]
    empty = maker.signed("DELETE", "openOrders", {"symbol": "SOLUSDC"})
    assert empty.json()["code"] == -2011


def test_account_and_my_trades(maker, taker):
    maker.signed("POST", "order", limit("SELL", "20", "1"))
    taker.signed("POST", "order", limit("BUY", "20", "1"))
    account = taker.signed("GET", "account").json()
    balances = {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}
    assert balances["USDC"] == (D(10000) - D(20), D(0))
    assert balances["SOL"] == (D(100) + D(1) - D("0.002"), D(0))
    assert account["canTrade"] is True and account["accountType"] == "SPOT"
    [trade] = taker.signed("GET", "myTrades", {"symbol": "SOLUSDC"}).json()
    assert (trade["price"], trade["qty"], trade["isBuyer"], trade["isMaker"]) == (
        "20",
        "1",
        True,
        False,
    )


def test_cancel_replace_replaces_an_open_order(maker):
    placed = maker.signed("POST", "order", limit(price="10")).json()
    resp = maker.signed(
        "POST",
        "order/cancelReplace",
        {
            **limit(price="11"),
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": placed["orderId"],
        },
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert body["newOrderResponse"]["price"] == "11"
    failed = maker.signed(
        "POST",
        "order/cancelReplace",
        {
            **limit(price="12"),
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": placed["orderId"],
        },
    )
    assert (failed.status_code, failed.json()["code"]) == (400, -2022)
    assert failed.json()["data"]["newOrderResult"] == "NOT_ATTEMPTED"


def test_order_test_validates_without_sending(maker):
    assert maker.signed("POST", "order/test", limit()).json() == {}
    off_tick = maker.signed("POST", "order/test", limit(price="10.505"))
    assert off_tick.json() == {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}
    assert maker.signed("GET", "openOrders").json() == []
