"""POST /api/v1/order: the matcher's result, through the real matcher and persister."""

from decimal import Decimal as D

import pytest

from tests.api import Api
from tests.factories import make_user
from trading.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def maker(pipeline):
    return Api.for_user(make_user("maker")).fund(SOL="100", USDC="10000")


@pytest.fixture
def taker(pipeline):
    return Api.for_user(make_user("taker")).fund(SOL="100", USDC="10000")


def error(resp):
    return resp.status_code, resp.json()["error"]["code"]


def test_limit_order_rests_as_new_when_nothing_crosses(maker):
    resp = maker.place(side="buy", price="10.50", quantity="2", client_order_id="a.1")
    assert resp.status_code == 201, resp.content
    order = resp.json()
    assert (order["status"], order["price"], order["quantity"]) == ("new", "10.5", "2")
    assert (order["client_order_id"], order["time_in_force"], order["fills"]) == ("a.1", "GTC", [])
    assert maker.balances()["USDC"] == (D(10000) - D(21), D(21))


def test_limit_order_is_filled_at_the_makers_price_when_it_crosses(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    resp = taker.place(side="buy", price="21", quantity="1")
    order = resp.json()
    assert (resp.status_code, order["status"]) == (201, "filled")
    assert (order["filled_quantity"], order["filled_quote"]) == ("1", "20")
    [fill] = order["fills"]
    assert fill == {
        "trade_id": 1,
        "price": "20",
        "quantity": "1",
        "fee": "0.002",
        "fee_asset": "SOL",
        "liquidity": "taker",
    }


def test_limit_order_is_partially_filled_when_the_book_is_thinner(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    order = taker.place(side="buy", price="20", quantity="3").json()
    assert (order["status"], order["filled_quantity"]) == ("partially_filled", "1")
    assert taker.balances()["USDC"][1] == D(40)  # the rest still holds 2 x 20


def test_ioc_remainder_expires_when_the_book_is_thinner(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    order = taker.place(side="buy", price="20", quantity="3", time_in_force="IOC").json()
    assert (order["status"], order["expire_reason"]) == ("expired", "ioc_unfilled")
    assert order["filled_quantity"] == "1"


def test_market_buy_by_quote_spends_at_most_its_amount_when_placed(maker, taker):
    maker.place(side="sell", price="20", quantity="5")
    resp = taker.post(
        "/api/v1/order",
        {"symbol": "SOL_USDC", "side": "buy", "type": "market", "quote_quantity": "50"},
    )
    order = resp.json()
    assert resp.status_code == 201, order
    assert (order["status"], order["filled_quantity"], order["filled_quote"]) == (
        "filled",
        "2.5",
        "50",
    )


def test_market_sell_expires_with_no_liquidity_when_the_book_is_empty(taker):
    resp = taker.post(
        "/api/v1/order",
        {"symbol": "SOL_USDC", "side": "sell", "type": "market", "quantity": "1"},
    )
    assert resp.status_code == 201
    assert (resp.json()["status"], resp.json()["expire_reason"]) == ("expired", "no_liquidity")


def test_market_order_reports_ioc_when_placed_without_time_in_force(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    resp = taker.post(
        "/api/v1/order",
        {"symbol": "SOL_USDC", "side": "buy", "type": "market", "quantity": "1"},
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["time_in_force"] == "IOC"
    [order] = taker.get("/api/v1/user/orders").json()["results"]
    assert order["time_in_force"] == "IOC"


@pytest.mark.parametrize("tif", ["GTC", "FOK"])
def test_market_order_is_refused_when_it_asks_to_rest_or_fill_all(taker, tif):
    resp = taker.post(
        "/api/v1/order",
        {
            "symbol": "SOL_USDC",
            "side": "sell",
            "type": "market",
            "quantity": "1",
            "time_in_force": tif,
        },
    )
    assert error(resp) == (400, "invalid_request")
    assert "IOC" in resp.json()["error"]["message"]


def test_fok_is_rejected_with_the_order_when_it_cannot_fill(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    resp = taker.place(side="buy", price="20", quantity="2", time_in_force="FOK")
    assert error(resp) == (409, "fok_not_fillable")
    order = resp.json()["error"]["details"]["order"]
    assert (order["status"], order["reject_reason"]) == ("rejected", "fok_not_fillable")


def test_post_only_is_rejected_when_it_would_take(maker, taker):
    maker.place(side="sell", price="20", quantity="1")
    resp = taker.place(side="buy", price="20", quantity="1", post_only=True)
    assert error(resp) == (409, "post_only_would_take")


def test_order_is_rejected_with_insufficient_funds_when_the_hold_exceeds_available(maker):
    resp = maker.place(side="buy", price="1000", quantity="11")
    assert error(resp) == (400, "insufficient_funds")
    assert resp.json()["error"]["details"]["order"]["status"] == "rejected"
    assert maker.balances()["USDC"] == (D(10000), D(0))


def test_duplicate_client_order_id_is_rejected_when_reused(maker):
    assert maker.place(side="buy", price="1", quantity="1", client_order_id="x").status_code == 201
    resp = maker.place(side="buy", price="2", quantity="1", client_order_id="x")
    assert error(resp) == (409, "duplicate_client_order_id")


@pytest.mark.parametrize(
    ("stp_mode", "taker_status", "maker_status"),
    [
        ("expire_taker", "expired", "new"),
        ("expire_maker", "new", "expired"),
        ("expire_both", "expired", "expired"),
    ],
)
def test_self_trade_is_prevented_by_the_takers_mode_when_it_would_trade(
    maker, stp_mode, taker_status, maker_status
):
    resting = maker.place(side="sell", price="20", quantity="1").json()
    order = maker.place(side="buy", price="20", quantity="1", stp_mode=stp_mode).json()
    assert (order["status"], order["fills"]) == (taker_status, [])
    got = maker.get("/api/v1/order", symbol="SOL_USDC", order_id=resting["order_id"]).json()
    assert got["status"] == maker_status


def test_order_is_rejected_with_market_halted_when_the_market_is_halted(maker, markets):
    from trading.services import market_set_status

    market_set_status(markets["SOL_USDC"], "halted")
    resp = maker.place(side="buy", price="1", quantity="1")
    assert error(resp) == (409, "market_halted")
    market_set_status(markets["SOL_USDC"], "trading")
    assert maker.place(side="buy", price="1", quantity="1").status_code == 201


def test_order_is_in_postgres_once_when_placed(maker):
    order_id = maker.place(side="buy", price="1", quantity="1").json()["order_id"]
    maker.get("/api/v1/orders")  # read-your-writes: the persister has it now
    assert Order.objects.filter(id=order_id, user=maker.user).count() == 1


def test_unknown_market_is_a_400_when_only_the_matcher_does_not_list_it(maker):
    """docs/api.md: a symbol nobody trades is a bad field value (400), whether the database or
    the matcher is the one that does not list it (issue 14, item 7)."""
    from accounts.models import Asset
    from trading.models import Market

    # given a market in the database that its matcher never received (written past the service)
    Market.objects.create(
        symbol="ETH_SOL",
        base=Asset.objects.get(code="ETH"),
        quote=Asset.objects.get(code="SOL"),
        tick_size=D("0.01"),
        lot_size=D("0.01"),
        min_notional=D("0.01"),
        maker_fee_rate=D("0.001"),
        taker_fee_rate=D("0.001"),
    )
    # when an order names it, then the matcher's unknown_market is a 400 like the database's
    resp = maker.place(symbol="ETH_SOL", side="sell", price="1", quantity="1")
    assert error(resp) == (400, "unknown_market")
    assert resp.json()["error"]["details"]["order"]["status"] == "rejected"
    assert error(maker.place(symbol="NONE_SOL", side="sell", price="1", quantity="1")) == (
        400,
        "unknown_market",
    )
