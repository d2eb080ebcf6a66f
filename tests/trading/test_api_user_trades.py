"""GET /api/v1/user/trades: the caller's fills, from the caller's side."""

import pytest

from tests.api import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_trades_show_each_side_its_own_fill_when_two_users_trade(pipeline):
    # given alice's resting sell and bob's crossing buy
    alice = Api.for_user(make_user("alice")).fund(SOL="10")
    bob = Api.for_user(make_user("bob")).fund(USDC="1000")
    sell = alice.place(side="sell", price="20", quantity="2").json()
    buy = bob.place(side="buy", price="20", quantity="2").json()
    # when each asks for their trades (bob first: alice's read then waits for the fill anyway)
    [theirs] = bob.get("/api/v1/user/trades").json()["results"]
    [mine] = alice.get("/api/v1/user/trades").json()["results"]
    # then each sees their own order, side, fee and liquidity
    assert mine["trade_id"] == theirs["trade_id"]
    assert (mine["order_id"], mine["side"], mine["liquidity"]) == (
        sell["order_id"],
        "sell",
        "maker",
    )
    assert (mine["fee"], mine["fee_asset"], mine["quote_quantity"]) == ("0.04", "USDC", "40")
    assert (theirs["order_id"], theirs["side"], theirs["liquidity"]) == (
        buy["order_id"],
        "buy",
        "taker",
    )
    assert (theirs["fee"], theirs["fee_asset"]) == ("0.004", "SOL")
    # and a third user sees none
    charlie = Api.for_user(make_user("charlie"))
    assert charlie.get("/api/v1/user/trades").json()["results"] == []
    assert alice.get("/api/v1/user/trades", symbol="BTC_USDC").json()["results"] == []
