"""Orders over signed HTTP through the real web server, matcher and persister."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Balance
from accounts.selectors import fee_account_id
from tests.integration.conftest import Stack, Trader
from trading.models import Order, Trade

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

D = Decimal
SYMBOL = "SOL_USDC"


def balances(trader: Trader) -> dict[str, tuple[Decimal, Decimal]]:
    resp = trader.api.get("/api/v1/user/balances")
    assert resp.status_code == 200, resp.text
    return {b["asset"]: (D(b["available"]), D(b["locked"])) for b in resp.json()}


def fee_balance(asset: str) -> Decimal:
    row = Balance.objects.filter(user_id=fee_account_id(), asset__code=asset).first()
    return row.available if row else D(0)


def place(trader: Trader, **fields: Any) -> Any:
    body = {"symbol": SYMBOL, "type": "limit", "time_in_force": "GTC", **fields}
    return trader.api.post("/api/v1/order", body)


def test_crossing_orders_trade_at_maker_price_with_fees_when_two_users_cross(
    stack: Stack,
) -> None:
    # given alice resting a sell of 1 SOL at 150 and bob with USDC
    alice = stack.funded("alice", SOL="10")
    bob = stack.funded("bob", USDC="1000")
    fee_sol, fee_usdc = fee_balance("SOL"), fee_balance("USDC")
    ask = place(alice, side="sell", price="150.00", quantity="1")
    assert ask.status_code == 201, ask.text
    assert ask.json()["status"] == "new"

    # when bob buys 1 SOL with a limit of 151
    resp = place(bob, side="buy", price="151", quantity="1.00")

    # then bob fills at the maker's price, paying the taker fee in SOL
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "filled"
    assert D(order["filled_quantity"]) == D(1)
    assert D(order["filled_quote"]) == D(150)
    [fill] = order["fills"]
    assert (D(fill["price"]), D(fill["quantity"])) == (D(150), D(1))
    assert (D(fill["fee"]), fill["fee_asset"], fill["liquidity"]) == (D("0.002"), "SOL", "taker")
    # and the balances settle: bob's price improvement is released at once
    assert balances(bob)["USDC"] == (D(850), D(0))
    assert balances(bob)["SOL"] == (D("0.998"), D(0))
    assert balances(alice)["SOL"] == (D(9), D(0))
    assert balances(alice)["USDC"] == (D("149.85"), D(0))
    # and the fee account received both fees
    stack.wait_settled()
    assert fee_balance("SOL") - fee_sol == D("0.002")
    assert fee_balance("USDC") - fee_usdc == D("0.15")
    # and the trade is in Postgres with both sides
    trade = Trade.objects.get(taker_order_id=order["order_id"])
    assert (trade.maker_user_id, trade.taker_user_id) == (alice.user_id, bob.user_id)
    assert trade.maker_fee == D("0.15") and trade.taker_fee == D("0.002")
    assert alice_order_status(alice, ask.json()["order_id"]) == "filled"


def alice_order_status(trader: Trader, order_id: int) -> str:
    resp = trader.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id)
    assert resp.status_code == 200, resp.text
    status: str = resp.json()["status"]
    return status


def test_cancel_releases_funds_when_a_resting_buy_is_cancelled(stack: Stack) -> None:
    trader = stack.funded("canceller", USDC="500")
    placed = place(trader, side="buy", price="100", quantity="2").json()
    assert balances(trader)["USDC"] == (D(300), D(200))

    resp = trader.api.delete("/api/v1/order", symbol=SYMBOL, order_id=placed["order_id"])

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "cancelled"
    assert balances(trader)["USDC"] == (D(500), D(0))
    assert alice_order_status(trader, placed["order_id"]) == "cancelled"


def test_cancel_all_releases_every_hold_when_called_for_a_market(stack: Stack) -> None:
    trader = stack.funded("cancelall", USDC="1000", SOL="5")
    for price in ("100", "101", "102"):
        assert place(trader, side="buy", price=price, quantity="1").status_code == 201
    assert place(trader, side="sell", price="200", quantity="2").status_code == 201
    assert len(trader.api.get("/api/v1/orders", symbol=SYMBOL).json()) == 4

    resp = trader.api.delete("/api/v1/orders", symbol=SYMBOL)

    assert resp.status_code == 200, resp.text
    assert len(resp.json()) == 4
    assert trader.api.get("/api/v1/orders", symbol=SYMBOL).json() == []
    assert balances(trader)["USDC"] == (D(1000), D(0))
    assert balances(trader)["SOL"] == (D(5), D(0))


def test_market_buy_by_quote_spends_at_most_its_quote_amount(stack: Stack) -> None:
    maker = stack.funded("mmaker", SOL="10")
    taker = stack.funded("mtaker", USDC="1000")
    assert place(maker, side="sell", price="120", quantity="1").status_code == 201
    assert place(maker, side="sell", price="121", quantity="1").status_code == 201

    resp = taker.api.post(
        "/api/v1/order",
        {"symbol": SYMBOL, "side": "buy", "type": "market", "quote_quantity": "180"},
    )

    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert D(order["filled_quote"]) <= D(180)
    assert D(order["filled_quantity"]) > D(1)
    usdc = balances(taker)["USDC"]
    assert usdc == (D(1000) - D(order["filled_quote"]), D(0))
    # cleanup for the next tests: nothing of the maker left crossing anything
    maker.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_ioc_remainder_expires_when_the_book_is_thinner_than_the_order(stack: Stack) -> None:
    maker = stack.funded("iocmaker", SOL="10")
    taker = stack.funded("ioctaker", USDC="1000")
    assert place(maker, side="sell", price="90", quantity="1").status_code == 201

    resp = place(taker, side="buy", price="90", quantity="3", time_in_force="IOC")

    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "expired"
    assert D(resp.json()["filled_quantity"]) == D(1)
    assert balances(taker)["USDC"][1] == D(0)


def test_fok_is_rejected_without_trading_when_it_cannot_fill_completely(stack: Stack) -> None:
    maker = stack.funded("fokmaker", SOL="10")
    taker = stack.funded("foktaker", USDC="1000")
    assert place(maker, side="sell", price="80", quantity="1").status_code == 201

    resp = place(taker, side="buy", price="80", quantity="2", time_in_force="FOK")

    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error"]["code"] == "fok_not_fillable"
    assert balances(taker)["USDC"] == (D(1000), D(0))
    maker.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_post_only_is_rejected_when_it_would_take(stack: Stack) -> None:
    maker = stack.funded("pomaker", SOL="10")
    taker = stack.funded("potaker", USDC="1000")
    assert place(maker, side="sell", price="70", quantity="1").status_code == 201

    resp = place(taker, side="buy", price="70", quantity="1", post_only=True)

    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error"]["code"] == "post_only_would_take"
    ok = place(taker, side="buy", price="69.99", quantity="1", post_only=True)
    assert ok.status_code == 201 and ok.json()["status"] == "new"
    maker.api.delete("/api/v1/orders", symbol=SYMBOL)
    taker.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_self_trade_expires_the_taker_by_default(stack: Stack) -> None:
    trader = stack.funded("stp", SOL="10", USDC="1000")
    resting = place(trader, side="sell", price="60", quantity="1").json()

    resp = place(trader, side="buy", price="60", quantity="1")

    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "expired"
    assert resp.json()["fills"] == []
    assert alice_order_status(trader, resting["order_id"]) == "new"
    trader.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_duplicate_client_order_id_is_rejected_without_side_effects(stack: Stack) -> None:
    trader = stack.funded("dup", USDC="1000")
    first = place(trader, side="buy", price="10", quantity="1", client_order_id="my-1")
    assert first.status_code == 201, first.text
    before = balances(trader)

    again = place(trader, side="buy", price="11", quantity="2", client_order_id="my-1")

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "duplicate_client_order_id"
    assert balances(trader) == before
    by_client_id = trader.api.get("/api/v1/order", symbol=SYMBOL, client_order_id="my-1")
    assert by_client_id.json()["order_id"] == first.json()["order_id"]
    # the rejected attempt is recorded as such; only one live order owns the client id
    rows = Order.objects.filter(user_id=trader.user_id, client_order_id="my-1")
    assert sorted(rows.values_list("status", flat=True)) == ["new", "rejected"]
    assert rows.get(status="rejected").reject_reason == "duplicate_client_order_id"
    trader.api.delete("/api/v1/orders", symbol=SYMBOL)


def test_reads_reflect_the_callers_writes_right_after_they_return(stack: Stack) -> None:
    trader = stack.funded("ryw", USDC="1000")
    for _ in range(5):
        placed = place(trader, side="buy", price="50", quantity="1")
        assert placed.status_code == 201
        order_id = placed.json()["order_id"]
        # no waiting: the very next reads see the order and its hold
        got = trader.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id)
        assert got.status_code == 200 and got.json()["status"] == "new"
        open_ids = [o["order_id"] for o in trader.api.get("/api/v1/orders").json()]
        assert order_id in open_ids
        assert balances(trader)["USDC"][1] == D(50)
        cancelled = trader.api.delete("/api/v1/order", symbol=SYMBOL, order_id=order_id)
        assert cancelled.status_code == 200
        assert (
            trader.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id).json()["status"]
            == "cancelled"
        )
        assert balances(trader)["USDC"] == (D(1000), D(0))
