"""Order types (docs/order-types.md) in a real browser, against the whole exchange as real
processes: a stop-limit order and an OCO list placed from the trade page's form, shown in the
open orders (the Trade and Orders pages) waiting for their trigger, a trigger seen live, an OCO
cancelled as a list, and the form used with the keyboard at 390 px.

Each test has its own market (SOL_USDC: stop-limit, ETH_USDC: OCO, BTC_USDC: phone), where two
bots first trade once, so the market has a last price for the stops to be placed against.

Screenshots (``BROWSER_SCREENSHOTS``): trade-stop-limit-desktop, trade-oco-phone.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PHONE, no_horizontal_scroll, order
from tests.integration.conftest import Stack, Trader

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def bots(make_trader) -> tuple[Trader, Trader]:
    """A seller and a buyer who make the market's last price."""
    seller = make_trader("seller", SOL="100", ETH="10", BTC="1")
    buyer = make_trader("buyer", USDC="1000000")
    return seller, buyer


def trade_at(live: Stack, bots: tuple[Trader, Trader], symbol: str, price: str, qty: str) -> None:
    """One trade at ``price`` between the bots: the market's last price, in the database too."""
    seller, buyer = bots
    order(seller, symbol=symbol, side="sell", price=price, quantity=qty)
    taken = order(buyer, symbol=symbol, side="buy", price=price, quantity=qty)
    assert taken["status"] == "filled", taken
    live.wait_settled()


def open_orders(trader: Trader, symbol: str) -> list[dict[str, Any]]:
    resp = trader.api.get("/api/v1/orders", symbol=symbol)
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()
    return rows


def amount(locator: Locator) -> Decimal:
    return Decimal(locator.inner_text().replace(",", ""))


def choose(page: Page, side: str, type_id: str) -> None:
    page.locator(f"label[for=side-{side}]").click()
    page.locator(f"label[for=type-{type_id}]").click()


# --- stop-limit -----------------------------------------------------------------------------------


def test_a_stop_limit_from_the_form_waits_untriggered_then_triggers_live(
    live, bots, ui_trader, shots: Path
):
    trade_at(live, bots, "SOL_USDC", "20.00", "1.00")
    s, trader = ui_trader(USDC="1000")
    page = s.goto("/trade/SOL_USDC")
    s.live()
    choose(page, "buy", "stop-limit")
    expect(page.locator("#type-help")).to_contain_text(
        "Triggers when the last price reaches the stop price"
    )
    expect(page.locator("#form-last")).to_have_text("20.00")
    stop = page.get_by_label("Stop price")

    # checked as typed, never rounded: off the tick, and a stop the last price has reached
    stop.fill("22.005")
    expect(page.locator("#hint-stop")).to_contain_text("multiple of the tick size, 0.01")
    stop.fill("19.00")
    expect(page.locator("#hint-stop")).to_contain_text("would trigger at once")
    page.get_by_label("Limit price", exact=True).fill("19.50")
    page.get_by_label("Amount").fill("2.00")
    page.locator("#order-submit").click()
    # sent anyway (the API decides), and refused in the API's own words
    refused = bots[1].api.post(
        "/api/v1/order",
        {
            "symbol": "SOL_USDC",
            "side": "buy",
            "type": "stop_limit",
            "quantity": "2.00",
            "price": "19.50",
            "stop_price": "19.00",
            "time_in_force": "GTC",
        },
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "would_trigger_immediately"
    expect(page.locator("#order-error")).to_contain_text(refused.json()["error"]["message"])

    stop.fill("22.00")
    expect(page.locator("#hint-stop")).to_have_text("")
    page.get_by_label("Limit price", exact=True).fill("22.50")
    page.get_by_label("Amount").fill("2.00")
    expect(page.locator("#est-total")).to_have_text("45 USDC")
    page.locator("#order-submit").click()
    expect(page.locator("#order-ok")).to_contain_text(
        "Buy stop-limit order waiting for trigger: 2.00 SOL at 22.50, stop 22.00"
    )
    row = page.locator("#open-orders tr[data-order-id]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "untriggered")
    for text in ("Stop-limit", "22.50", "22.00", "2.00", "Waiting for trigger"):
        expect(row).to_contain_text(text)
    # outside the book, its funds held from placement
    expect(page.locator('#book-bids .row[data-price="22.50"]')).to_have_count(0)
    expect(page.locator("#form-available")).to_have_text("955.000000")
    [waiting] = open_orders(trader, "SOL_USDC")
    assert waiting["status"] == "untriggered" and Decimal(waiting["stop_price"]) == 22
    s.screenshot(shots, "trade-stop-limit-desktop")

    # the Orders page shows it too
    orders_page = s.goto("/orders")
    s.live()
    on_orders = orders_page.locator(f'#open-orders tr[data-order-id="{waiting["order_id"]}"]')
    expect(on_orders).to_contain_text("Waiting for trigger")
    expect(on_orders).to_contain_text("SOL/USDC")

    # a trade at the stop price triggers it, seen live: a limit buy at 22.50 in the book
    page = s.goto("/trade/SOL_USDC")
    s.live()
    trade_at(live, bots, "SOL_USDC", "22.00", "1.00")
    expect(row).to_have_attribute("data-status", "new")
    expect(row).to_contain_text("Triggered")
    expect(page.locator('#book-bids .row[data-price="22.50"]')).to_have_attribute(
        "data-size", "2.00"
    )
    row.get_by_role("button", name="Cancel").click()
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    expect(page.locator("#form-available")).to_have_text("1,000.000000")
    page.get_by_role("tab", name="Order history").click()
    history = page.locator(f'#order-history tr[data-order-id="{waiting["order_id"]}"]')
    expect(history).to_contain_text("Stop-limit")
    expect(history).to_contain_text("Cancelled")


# --- OCO ------------------------------------------------------------------------------------------


def test_an_oco_from_the_form_shows_both_legs_and_cancelling_one_cancels_the_list(
    live, bots, ui_trader
):
    trade_at(live, bots, "ETH_USDC", "2000.00", "0.1000")
    s, trader = ui_trader(ETH="1")
    page = s.goto("/trade/ETH_USDC")
    s.live()
    choose(page, "sell", "oco")
    expect(page.locator("#type-help")).to_contain_text("One cancels the other")
    expect(page.locator("#type-help")).to_contain_text("the other is cancelled")
    page.get_by_label("Limit price", exact=True).fill("2100.00")
    page.get_by_label("Stop price").fill("1900.00")
    page.get_by_label("Stop-limit price").fill("1890.00")
    page.get_by_label("Amount").fill("0.5000")
    expect(page.locator("#est-total")).to_have_text("0.5 ETH")  # the larger leg, not both
    page.locator("#order-submit").click()
    expect(page.locator("#order-ok")).to_contain_text("Sell OCO placed")

    legs = page.locator("#open-orders tr[data-list-id]")
    expect(legs).to_have_count(2)
    list_ids = {legs.nth(i).get_attribute("data-list-id") for i in range(2)}
    assert len(list_ids) == 1  # one list
    limit_leg, stop_leg = legs.nth(0), legs.nth(1)  # drawn together, the limit leg first
    expect(limit_leg).to_contain_text("Limit")
    expect(limit_leg).to_contain_text("2100.00")
    expect(limit_leg).to_have_attribute("data-status", "new")
    expect(stop_leg).to_contain_text("Stop-limit")
    expect(stop_leg).to_contain_text("1900.00")
    expect(stop_leg).to_contain_text("1890.00")
    expect(stop_leg).to_contain_text("Waiting for trigger")
    for leg in (limit_leg, stop_leg):
        expect(leg.locator(".badge-list")).to_have_text("OCO")
    # the limit leg rests in the book; the hold is the larger leg's: 0.5 ETH of 1
    expect(page.locator('#book-asks .row[data-price="2100.00"]')).to_have_attribute(
        "data-size", "0.5000"
    )
    assert amount(page.locator("#form-available")) == Decimal("0.5")
    assert {o["list_id"] for o in open_orders(trader, "ETH_USDC")} == {int(list_ids.pop() or 0)}

    # the Orders page: both legs, grouped; cancelling one leg cancels the list
    orders_page = s.goto("/orders")
    s.live()
    legs = orders_page.locator("#open-orders tr[data-list-id]")
    expect(legs).to_have_count(2)
    legs.nth(1).get_by_role("button", name="Cancel OCO").click()
    expect(orders_page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    assert open_orders(trader, "ETH_USDC") == []
    orders_page.get_by_role("tab", name="Order history").click()
    ended = orders_page.locator("#order-history tr[data-list-id]")
    expect(ended).to_have_count(2)
    for i in range(2):
        expect(ended.nth(i)).to_contain_text("Cancelled")

    page = s.goto("/trade/ETH_USDC")
    s.live()
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    expect(page.locator('#book-asks .row[data-price="2100.00"]')).to_have_count(0)
    page.locator("label[for=side-sell]").click()
    assert amount(page.locator("#form-available")) == Decimal(1)


# --- phone width, keyboard ------------------------------------------------------------------------


def test_at_phone_width_an_oco_is_placed_and_cancelled_with_the_keyboard(
    live, bots, ui_trader, shots: Path
):
    trade_at(live, bots, "BTC_USDC", "60000.0", "0.00100")
    s, trader = ui_trader(PHONE, USDC="1000")
    page = s.goto("/trade/BTC_USDC")
    s.live()
    assert no_horizontal_scroll(page)

    # the type is a radio group: arrow keys move through Limit, Market, Stop-limit, OCO
    page.locator("#type-limit").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#type-stop-limit")).to_be_checked()
    expect(page.get_by_label("Stop price")).to_be_visible()
    expect(page.get_by_label("Stop-limit price")).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#type-oco")).to_be_checked()
    # a buy OCO: the limit leg below the last price, the stop above it; fields in tab order
    for value in ("59000.0", "61000.0", "61500.0", "0.00100"):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    expect(page.get_by_label("Limit price", exact=True)).to_have_value("59000.0")
    expect(page.get_by_label("Stop price")).to_have_value("61000.0")
    expect(page.get_by_label("Stop-limit price")).to_have_value("61500.0")
    expect(page.get_by_label("Amount")).to_have_value("0.00100")
    for field in ("Limit price", "Stop price", "Stop-limit price", "Amount"):
        box = page.get_by_label(field, exact=True).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], field
    expect(page.locator("#est-total")).to_have_text("61.5 USDC")  # the stop leg is larger
    assert no_horizontal_scroll(page)
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#order-ok")).to_contain_text("Buy OCO placed")
    legs = page.locator("#open-orders tr[data-list-id]")
    expect(legs).to_have_count(2)
    expect(legs.nth(1)).to_contain_text("Waiting for trigger")
    assert no_horizontal_scroll(page)
    s.screenshot(shots, "trade-oco-phone")

    cancel = legs.nth(0).get_by_role("button", name="Cancel OCO")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    assert open_orders(trader, "BTC_USDC") == []
