"""The order types of issue 19 end to end over signed HTTP, through the real web server,
matcher, persister, publisher and WebSocket server (docs/order-types.md, docs/api.md):
stop-limit, stop-market, take-profit, trailing stops, OCO lists, icebergs, GTD expiry and
amends, each with its fills, balances and private stream messages. The module ends with
conservation for every asset.

The last trade price is what triggers: ``tape`` prints a trade at a price (a maker's sell
met by a taker's buy of the same small quantity, nothing left resting). Each test cancels what
it left in the book, so the next starts from an empty book.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.db.models import Sum

from accounts.models import Balance, Deposit, DepositStatus
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.integration.test_market_data import Feed
from tests.support.waiting import wait_until


def _engine_has(module: str) -> bool:
    """Whether this build's engine has the module of an order type: the engine of issue 19 is
    merged in parts (h-eng-ice: icebergs and GTD; h-eng-cond: conditional orders and OCO), and
    the tests of a part not merged yet have nothing to test."""
    return importlib.util.find_spec(f"matching.{module}") is not None


needs_conditional = pytest.mark.skipif(
    not _engine_has("conditional"), reason="conditional orders (h-eng-cond) are not merged yet"
)
needs_iceberg = pytest.mark.skipif(
    not _engine_has("iceberg"), reason="icebergs and GTD (h-eng-ice) are not merged yet"
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager"),
]

D = Decimal
SYMBOL = "SOL_USDC"


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, websocket=True)
        try:
            yield running
        finally:
            stop_stack(running)


@pytest.fixture(scope="module")
def tape(stack: Stack) -> tuple[Trader, Trader]:
    return stack.funded("tapemaker", SOL="1000"), stack.funded("tapetaker", USDC="1000000")


def trade_at(tape: tuple[Trader, Trader], price: str) -> None:
    """Print a trade of 0.1 SOL at ``price``: the market's last trade price becomes it."""
    maker, taker = tape
    sell = place(maker, side="sell", price=price, quantity="0.1")
    assert sell.status_code == 201 and sell.json()["status"] == "new", sell.text
    buy = place(taker, side="buy", price=price, quantity="0.1")
    assert buy.status_code == 201 and buy.json()["status"] == "filled", buy.text


def place(trader: Trader, **fields: Any) -> Any:
    body = {"symbol": SYMBOL, "type": "limit", **fields}
    return trader.api.post("/api/v1/order", body)


def order(trader: Trader, order_id: int) -> dict[str, Any]:
    resp = trader.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


def balances(trader: Trader) -> dict[str, tuple[Decimal, Decimal]]:
    resp = trader.api.get("/api/v1/user/balances")
    assert resp.status_code == 200, resp.text
    return {b["asset"]: (D(b["available"]), D(b["locked"])) for b in resp.json()}


def stack_get(stack: Stack, path: str, **params: Any) -> Any:
    resp = requests.get(f"{stack.base_url}/api/v1/{path}", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def feed(stack: Stack, trader: Trader) -> Feed:
    return Feed(stack.ws_url, ["orders"], trader)


def updates(stream: Feed, order_id: int) -> list[tuple[str, str | None]]:
    return [
        (u["update"], u["status"])
        for u in stream.stream("orders")
        if u["e"] == "order" and u["order_id"] == order_id
    ]


def wait_updates(stream: Feed, order_id: int, last: str) -> list[tuple[str, str | None]]:
    def arrived() -> list[tuple[str, str | None]] | None:
        got = updates(stream, order_id)
        return got if got and got[-1][0] == last else None

    return wait_until(arrived, timeout=10, what=f"order {order_id}'s {last} update")


def clear(*traders: Trader) -> None:
    for trader in traders:
        resp = trader.api.delete("/api/v1/orders", symbol=SYMBOL)
        assert resp.status_code == 200, resp.text


# --- conditional orders ---------------------------------------------------------------------------


@needs_conditional
def test_a_stop_limit_sell_fills_when_another_users_trade_triggers_it(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    # given a last trade at 150, alice's stop-limit sell (stop 140, limit 139.50) and bob's bid
    alice = stack.funded("stopper", SOL="10")
    bob = stack.funded("bidder", USDC="1000")
    trade_at(tape, "150")
    stream = feed(stack, alice)
    placed = place(
        alice, side="sell", type="stop_limit", quantity="1", stop_price="140", price="139.5"
    )
    assert placed.status_code == 201, placed.text
    stop = placed.json()
    assert (stop["status"], stop["stop_price"], stop["trigger_price"]) == (
        "untriggered",
        "140",
        None,
    )
    assert balances(alice)["SOL"] == (D(9), D(1))  # held from placement
    assert place(bob, side="buy", price="139.5", quantity="1").json()["status"] == "new"
    # and it is not in the book
    depth = stack_get(stack, "depth", symbol=SYMBOL)
    assert all(level[0] != "139.50" for level in depth["asks"])

    # when another user's trade prints 140
    trade_at(tape, "140")

    # then the stop is triggered and sells into bob's bid at 139.50
    got = wait_until(
        lambda: (o := order(alice, stop["order_id"]))["status"] == "filled" and o,
        timeout=10,
        what="the stop filled",
    )
    assert (got["trigger_price"], got["stop_price"], got["type"]) == ("140", "140", "stop_limit")
    [fill] = got["fills"]
    assert (D(fill["price"]), D(fill["quantity"]), fill["liquidity"]) == (D("139.5"), D(1), "taker")
    assert balances(alice)["SOL"] == (D(9), D(0))
    assert balances(alice)["USDC"] == (D("139.5") - D("0.279"), D(0))  # taker fee 0.2 %
    assert balances(bob)["SOL"] == (D("0.999"), D(0))  # maker fee 0.1 %, in SOL
    # and the stream told alice: placed untriggered, triggered (new), traded, filled
    seen = wait_updates(stream, stop["order_id"], "filled")
    assert seen[:2] == [("new", "untriggered"), ("triggered", "new")]
    assert seen[-1] == ("filled", "filled")
    triggered = next(u for u in stream.stream("orders") if u.get("update") == "triggered")
    assert triggered["trigger_price"] == "140.00"
    stream.close()


@needs_conditional
def test_a_stop_market_sell_sells_at_the_best_bid_when_the_price_falls_to_its_stop(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    carol = stack.funded("stopmkt", SOL="5")
    dave = stack.funded("stopbid", USDC="1000")
    trade_at(tape, "150")
    stop = place(carol, side="sell", type="stop_market", quantity="1", stop_price="145").json()
    assert stop["status"] == "untriggered", stop
    assert place(dave, side="buy", price="144", quantity="2").json()["status"] == "new"

    trade_at(tape, "145")

    got = wait_until(
        lambda: (o := order(carol, stop["order_id"]))["status"] == "filled" and o,
        timeout=10,
        what="the stop-market filled",
    )
    assert (D(got["filled_quantity"]), D(got["filled_quote"])) == (D(1), D(144))
    assert balances(carol)["SOL"] == (D(4), D(0))
    assert balances(carol)["USDC"] == (D(144) - D("0.288"), D(0))
    clear(dave)


@needs_conditional
def test_a_take_profit_limit_sell_fills_when_the_price_rises_to_its_stop(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    erin = stack.funded("tpseller", SOL="5")
    frank = stack.funded("tpbuyer", USDC="1000")
    trade_at(tape, "150")
    tp = place(
        erin, side="sell", type="take_profit_limit", quantity="1", stop_price="155", price="154.5"
    ).json()
    assert tp["status"] == "untriggered", tp
    # a take-profit sell that would trigger at once is refused
    refused = place(erin, side="sell", type="take_profit_market", quantity="1", stop_price="149")
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409, "would_trigger_immediately",
    )  # fmt: skip
    assert place(frank, side="buy", price="154.5", quantity="1").json()["status"] == "new"

    trade_at(tape, "155")

    got = wait_until(
        lambda: (o := order(erin, tp["order_id"]))["status"] == "filled" and o,
        timeout=10,
        what="the take-profit filled",
    )
    assert (got["trigger_price"], D(got["filled_quote"])) == ("155", D("154.5"))
    assert balances(frank)["SOL"] == (D("0.999"), D(0))


@needs_conditional
def test_a_trailing_stop_follows_the_peak_and_sells_when_the_price_falls_by_its_delta(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    # given a trailing stop-market sell of 1 % placed at a last price of 150 (stop 148.50)
    grace = stack.funded("trailer", SOL="5")
    henry = stack.funded("trailbid", USDC="1000")
    trade_at(tape, "150")
    trailing = place(grace, side="sell", type="stop_market", quantity="1", trailing_delta=100)
    assert trailing.status_code == 201, trailing.text
    stop = trailing.json()
    assert (stop["status"], stop["trailing_delta"], stop["stop_price"]) == (
        "untriggered", 100, "148.5",
    )  # fmt: skip
    # when the price rises to 160 (stop 158.40) and a bid rests at 158
    trade_at(tape, "160")
    assert place(henry, side="buy", price="158", quantity="1").json()["status"] == "new"
    trade_at(tape, "158.5")  # above 158.40: nothing yet
    assert order(grace, stop["order_id"])["status"] == "untriggered"
    # and then falls to 158.40
    trade_at(tape, "158.4")

    # then the stop fired at its trailed price and sold into the bid
    got = wait_until(
        lambda: (o := order(grace, stop["order_id"]))["status"] == "filled" and o,
        timeout=10,
        what="the trailing stop filled",
    )
    assert (got["stop_price"], got["trigger_price"], D(got["filled_quote"])) == (
        "158.4", "158.4", D(158),
    )  # fmt: skip
    clear(henry)


# --- OCO ------------------------------------------------------------------------------------------


def oco(trader: Trader, **fields: Any) -> Any:
    body = {"symbol": SYMBOL, "side": "sell", "quantity": "1", "price": "160", **fields}
    return trader.api.post("/api/v1/order-list/oco", body)


def order_list(trader: Trader, list_id: int) -> dict[str, Any]:
    resp = trader.api.get("/api/v1/order-list", symbol=SYMBOL, list_id=list_id)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


@needs_conditional
def test_an_oco_cancels_its_stop_leg_when_its_limit_leg_fills(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    ivan = stack.funded("ocolimit", SOL="5")
    jack = stack.funded("ocotaker", USDC="1000")
    trade_at(tape, "150")
    stream = feed(stack, ivan)
    placed = oco(ivan, stop_price="140", stop_limit_price="139.5", client_list_id="exit-1")
    assert placed.status_code == 201, placed.text
    listed = placed.json()
    assert (listed["status"], listed["client_list_id"]) == ("executing", "exit-1")
    limit_leg, stop_leg = listed["orders"]
    assert (limit_leg["status"], stop_leg["status"]) == ("new", "untriggered")
    assert balances(ivan)["SOL"] == (D(4), D(1))  # the larger leg's hold, not both

    # when jack buys the limit leg
    assert place(jack, side="buy", price="160", quantity="1").json()["status"] == "filled"

    # then the stop leg is cancelled with it and the list is done
    got = wait_until(
        lambda: (lst := order_list(ivan, listed["list_id"]))["status"] == "all_done" and lst,
        timeout=10,
        what="the list done",
    )
    limit_now, stop_now = got["orders"]
    assert limit_now["status"] == "filled"
    assert (stop_now["status"], stop_now["expire_reason"]) == ("cancelled", "order_list")
    assert balances(ivan)["SOL"] == (D(4), D(0))
    # and the stream sent the list's accepted and done
    lists = wait_until(
        lambda: (
            [u["update"] for u in stream.stream("orders") if u["e"] == "order_list"]
            if any(u.get("update") == "done" for u in stream.stream("orders"))
            else None
        ),
        timeout=10,
        what="the list's done update",
    )
    assert lists == ["accepted", "done"]
    stream.close()


@needs_conditional
def test_an_oco_cancels_its_limit_leg_when_its_stop_leg_triggers(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    kim = stack.funded("ocostop", SOL="5")
    leo = stack.funded("ocobid", USDC="1000")
    trade_at(tape, "150")
    listed = oco(kim, stop_price="140").json()  # a stop_market leg
    assert listed["orders"][1]["type"] == "stop_market", listed
    assert place(leo, side="buy", price="139", quantity="1").json()["status"] == "new"

    trade_at(tape, "140")

    got = wait_until(
        lambda: (lst := order_list(kim, listed["list_id"]))["status"] == "all_done" and lst,
        timeout=10,
        what="the list done",
    )
    limit_now, stop_now = got["orders"]
    assert (limit_now["status"], limit_now["expire_reason"]) == ("cancelled", "order_list")
    assert (stop_now["status"], D(stop_now["filled_quote"])) == ("filled", D(139))
    assert balances(kim)["SOL"] == (D(4), D(0))
    clear(leo)


@needs_conditional
def test_an_oco_releases_its_hold_when_cancelled_by_list_id(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    mia = stack.funded("ococancel", SOL="5")
    trade_at(tape, "150")
    listed = oco(mia, stop_price="140", stop_limit_price="139").json()
    assert balances(mia)["SOL"] == (D(4), D(1))

    resp = mia.api.delete("/api/v1/order-list", symbol=SYMBOL, list_id=listed["list_id"])

    assert resp.status_code == 200, resp.text
    cancelled = resp.json()
    assert cancelled["status"] == "all_done"
    assert {o["status"] for o in cancelled["orders"]} == {"cancelled"}
    assert balances(mia)["SOL"] == (D(5), D(0))
    again = mia.api.delete("/api/v1/order-list", symbol=SYMBOL, list_id=listed["list_id"])
    assert (again.status_code, again.json()["error"]["code"]) == (404, "order_list_not_found")
    history = mia.api.get("/api/v1/user/order-lists").json()["results"]
    assert [lst["list_id"] for lst in history] == [listed["list_id"]]


@needs_conditional
def test_cancelling_one_leg_of_an_oco_cancels_both_and_answers_with_that_leg(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    ned = stack.funded("ocoleg", SOL="5")
    trade_at(tape, "150")
    listed = oco(ned, stop_price="140", stop_client_order_id="stop-leg").json()
    limit_leg, stop_leg = listed["orders"]

    resp = ned.api.delete("/api/v1/order", symbol=SYMBOL, client_order_id="stop-leg")

    assert resp.status_code == 200, resp.text
    assert (resp.json()["order_id"], resp.json()["expire_reason"]) == (
        stop_leg["order_id"], "user_cancelled",
    )  # fmt: skip
    got = wait_until(
        lambda: (lst := order_list(ned, listed["list_id"]))["status"] == "all_done" and lst,
        timeout=10,
        what="the list done",
    )
    assert [(o["order_id"], o["status"]) for o in got["orders"]] == [
        (limit_leg["order_id"], "cancelled"), (stop_leg["order_id"], "cancelled"),
    ]  # fmt: skip
    assert got["orders"][0]["expire_reason"] == "order_list"
    assert balances(ned)["SOL"] == (D(5), D(0))


# --- icebergs, GTD, amends ------------------------------------------------------------------------


@needs_iceberg
def test_an_iceberg_shows_only_its_visible_part_in_the_depth_when_resting(
    stack: Stack, tape: tuple[Trader, Trader]
) -> None:
    nina = stack.funded("iceberg", SOL="5")
    olga = stack.funded("icetaker", USDC="1000")
    placed = place(nina, side="sell", price="170", quantity="1", iceberg_quantity="0.2").json()
    assert (placed["status"], placed["iceberg_quantity"]) == ("new", "0.2")

    def level_170() -> str | None:
        asks = stack_get(stack, "depth", symbol=SYMBOL)["asks"]
        return next((qty for price, qty in asks if D(price) == D(170)), None)

    assert wait_until(lambda: level_170() == "0.20", timeout=10, what="the visible part")
    # a taker trades through the hidden part
    bought = place(olga, side="buy", price="170", quantity="0.5").json()
    assert (bought["status"], D(bought["filled_quantity"])) == ("filled", D("0.5"))
    assert D(order(nina, placed["order_id"])["filled_quantity"]) == D("0.5")
    # 0.2 + 0.2 + 0.1 of three visible parts: 0.1 of the third is left in view
    assert wait_until(lambda: level_170() == "0.10", timeout=10, what="the third part")
    assert balances(nina)["SOL"] == (D(4), D("0.5"))
    clear(nina)


@needs_iceberg
def test_a_gtd_order_expires_when_its_expire_time_passes(stack: Stack) -> None:
    pat = stack.funded("gtd", USDC="500")
    expire_ms = int(time.time() * 1000) + 2000
    placed = place(
        pat, side="buy", price="100", quantity="1", time_in_force="GTD", expire_time=expire_ms
    )
    assert placed.status_code == 201, placed.text
    assert (placed.json()["status"], placed.json()["expire_time"]) == ("new", expire_ms)
    assert balances(pat)["USDC"] == (D(400), D(100))

    got = wait_until(
        lambda: (o := order(pat, placed.json()["order_id"]))["status"] == "expired" and o,
        timeout=15,
        what="the GTD order expired",
    )

    assert got["updated_at"] >= expire_ms
    assert balances(pat)["USDC"] == (D(500), D(0))
    history = pat.api.get("/api/v1/user/orders", status="expired").json()["results"]
    assert [o["order_id"] for o in history] == [placed.json()["order_id"]]


def test_an_amend_keeps_priority_when_the_quantity_goes_down_and_loses_it_on_a_price_change(
    stack: Stack,
) -> None:
    quinn = stack.funded("amender", USDC="1000")
    rose = stack.funded("queued", USDC="1000")
    seller = stack.funded("amendsell", SOL="10")
    stream = feed(stack, quinn)
    first = place(quinn, side="buy", price="120", quantity="2").json()
    second = place(rose, side="buy", price="120", quantity="1").json()

    # a smaller quantity keeps quinn first in the queue
    down = quinn.api.request(
        "PATCH", "/api/v1/order",
        json_body={"symbol": SYMBOL, "order_id": first["order_id"], "quantity": "1"},
    )  # fmt: skip
    assert down.status_code == 200, down.text
    assert (down.json()["kept_priority"], down.json()["quantity"]) == (True, "1")
    assert balances(quinn)["USDC"] == (D(880), D(120))
    assert place(seller, side="sell", price="120", quantity="1").json()["status"] == "filled"
    assert order(quinn, first["order_id"])["status"] == "filled"
    assert order(rose, second["order_id"])["status"] == "new"

    # a price change sends quinn's next bid behind rose's
    third = place(quinn, side="buy", price="119", quantity="1").json()
    moved = quinn.api.request(
        "PATCH", "/api/v1/order",
        json_body={"symbol": SYMBOL, "order_id": third["order_id"], "price": "120"},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (moved.json()["kept_priority"], moved.json()["price"]) == (False, "120")
    assert place(seller, side="sell", price="120", quantity="1").json()["status"] == "filled"
    assert order(rose, second["order_id"])["status"] == "filled"
    assert order(quinn, third["order_id"])["status"] == "new"
    # and the stream sent the amends with kept_priority
    wait_updates(stream, third["order_id"], "amended")
    amends = [u["kept_priority"] for u in stream.stream("orders") if u.get("update") == "amended"]
    assert amends == [True, False]
    stream.close()
    clear(quinn)


@needs_conditional
def test_an_untriggered_order_is_not_amendable(stack: Stack, tape: tuple[Trader, Trader]) -> None:
    sam = stack.funded("noamend", SOL="5")
    trade_at(tape, "150")
    stop = place(sam, side="sell", type="stop_market", quantity="1", stop_price="140").json()

    resp = sam.api.request(
        "PATCH", "/api/v1/order",
        json_body={"symbol": SYMBOL, "order_id": stop["order_id"], "quantity": "0.5"},
    )  # fmt: skip

    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "order_not_amendable")
    clear(sam)
    assert balances(sam)["SOL"] == (D(5), D(0))


# --- afterwards -----------------------------------------------------------------------------------


def test_every_asset_is_conserved_after_the_order_types(stack: Stack) -> None:
    stack.wait_settled()
    for code in ("USDC", "SOL"):
        held = Balance.objects.filter(asset__code=code).aggregate(
            a=Sum("available"), b=Sum("locked")
        )
        credited = Deposit.objects.filter(
            asset__code=code, status=DepositStatus.CREDITED
        ).aggregate(s=Sum("amount"))["s"] or D(0)
        assert (held["a"] or D(0)) + (held["b"] or D(0)) == credited, code
