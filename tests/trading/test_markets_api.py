from django.urls import reverse

from trading.models import Market, MarketStatus


def test_markets_are_listed_with_decimal_strings_when_anyone_asks(client, markets):
    # given the demo markets, one halted (as the persister records the matcher's halt)
    Market.objects.filter(symbol="ETH_USDC").update(status=MarketStatus.HALTED)
    # when an anonymous client lists them
    response = client.get("/api/v1/markets")
    # then every market comes with exact decimal strings
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert [m["symbol"] for m in body] == ["BTC_USDC", "ETH_USDC", "SOL_USDC"]
    assert body[2] == {
        "symbol": "SOL_USDC",
        "base": "SOL",
        "quote": "USDC",
        "base_decimals": 9,
        "quote_decimals": 6,
        "tick_size": "0.01",
        "lot_size": "0.01",
        "min_notional": "1",
        "maker_fee_rate": "0.001",
        "taker_fee_rate": "0.002",
        "status": "trading",
    }
    assert body[0]["lot_size"] == "0.00001"
    assert body[1]["status"] == "halted"


def test_markets_list_is_empty_when_there_are_none(client, db):
    assert client.get(reverse("market-list")).json() == []


def test_markets_answer_405_in_the_error_shape_when_posted(client, db):
    response = client.post("/api/v1/markets", {}, content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
