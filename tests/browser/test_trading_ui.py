"""The trading web UI in a real browser, against the whole exchange as real processes.

Each test uses its own market where the book matters (SOL_USDC: orders and crosses, ETH_USDC:
the random burst, BTC_USDC: the dropped WebSocket), so one module's stack serves them all.
"""

from __future__ import annotations

import itertools
import random
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, no_horizontal_scroll, open_session, order
from tests.integration.conftest import Stack, Trader, wait_ws_up
from tests.support.waiting import wait_until

# django_db: pytest-django creates the test database; what a test writes for the stack's
# processes to see is committed on a connection of its own (tests.browser.conftest.committed).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.timeout(300),
]

_names = itertools.count(1)


def depth(live: Stack, symbol: str, limit: int = 12) -> dict[str, Any]:
    resp = requests.get(f"{live.base_url}/api/v1/depth?symbol={symbol}&limit={limit}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def page_book(page: Page) -> dict[str, list[list[str]]]:
    """The levels the page shows: bids best first, asks best first (they are drawn reversed)."""
    read = "rows => rows.map(r => [r.dataset.price, r.dataset.size])"
    bids = page.eval_on_selector_all("#book-bids .row[data-price]", read)
    asks = page.eval_on_selector_all("#book-asks .row[data-price]", read)
    return {"bids": bids, "asks": asks[::-1]}


def book_matches_depth(page: Page, live: Stack, symbol: str) -> bool:
    rest = depth(live, symbol)
    return page_book(page) == {"bids": rest["bids"], "asks": rest["asks"]}


def grouped(levels: list[list[str]], *, floor: bool, rows: int = 12) -> list[list[str]]:
    """Levels grouped to whole units of the quote (ETH_USDC: 100 ticks), as the page groups."""
    sums: dict[Decimal, Decimal] = {}
    for price, size in levels:
        p = Decimal(price)
        key = p.to_integral_value(rounding=ROUND_FLOOR if floor else ROUND_CEILING)
        sums[key] = sums.get(key, Decimal(0)) + Decimal(size)
    keys = sorted(sums, reverse=floor)[:rows]
    return [[f"{k:.2f}", f"{sums[k]:.4f}"] for k in keys]


def place_from_form(page: Page, side: str, price: str, quantity: str) -> None:
    page.locator(f"label[for=side-{side}]").click()
    page.locator("label[for=type-limit]").click()
    page.get_by_label("Price", exact=True).fill(price)
    page.get_by_label("Amount").fill(quantity)
    page.locator("#order-submit").click()


# --- account --------------------------------------------------------------------------------------


def test_a_new_user_signs_up_deposits_and_sees_the_balance(browser, live, sessions):
    s = open_session(browser, live)
    sessions.append(s)
    name, password = f"newbie{next(_names)}", "a-long-pass-phrase-77"
    page = s.goto("/trade/SOL_USDC")
    # an anonymous visitor sees the market read-only, with a prompt where the form would be
    expect(page.locator(".form-panel")).to_contain_text("Log in or create an account")
    expect(page.locator("#order-form")).to_have_count(0)
    page.locator(".topbar").get_by_role("link", name="Sign up").click()

    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password (again)").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{live.base_url}/trade/SOL_USDC")  # back where the visitor was

    page = s.goto("/wallet")
    s.live()
    page.get_by_label("Asset").first.select_option("USDC")
    page.locator("#deposit-amount").fill("1000")
    page.get_by_role("button", name="Deposit").click()
    expect(page.locator("#deposit-ok")).to_contain_text("Deposit of 1000 USDC confirmed")
    # credited by the matcher and shown without a reload
    expect(page.locator('#balances tr[data-asset="USDC"] [data-field="available"]')).to_have_text(
        "1,000.000000"
    )
    expect(page.locator("#deposits tbody tr").first).to_contain_text("Credited")

    # log out, then in again: the balance is there
    page.locator(".usermenu summary").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.locator(".topbar")).to_contain_text("Log in")
    s.login(name, password)
    page = s.goto("/wallet")
    expect(page.locator('#balances tr[data-asset="USDC"] [data-field="available"]')).to_have_text(
        "1,000.000000"
    )


def test_a_wrong_password_is_refused_with_a_message(browser, live, sessions, make_trader):
    trader = make_trader("pw")
    s = open_session(browser, live)
    sessions.append(s)
    page = s.goto("/login")
    page.get_by_label("Username").fill(trader.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def test_api_keys_are_created_with_permissions_shown_once_and_revoked(live, ui_trader):
    s, trader = ui_trader()
    page = s.goto("/account/api-keys")
    page.get_by_label("Label").fill("my bot")
    page.get_by_label("withdraw").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret").inner_text()
    key_id = page.locator("#new-key-id").inner_text()
    assert len(secret) >= 32
    row = page.locator(f'#api-keys tr[data-key="{key_id}"]')
    expect(row).to_contain_text("read, trade, withdraw")
    # the secret works: a signed request with it is accepted
    from tests.support.signing import SignedClient

    bot = SignedClient(live.base_url, key_id, secret)
    assert bot.get("/api/v1/account").json()["username"] == trader.username
    # shown once: the page, opened again, lists the key without its secret
    page = s.goto("/account/api-keys")
    expect(page.locator("#new-key-secret")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(secret)
    page.locator(f'#api-keys tr[data-key="{key_id}"]').get_by_role("button", name="Revoke").click()
    expect(page.locator(f'#api-keys tr[data-key="{key_id}"]')).to_have_count(0)
    assert bot.get("/api/v1/account").status_code == 401


def test_the_password_is_changed_and_the_new_one_logs_in(browser, live, sessions):
    # signed up over the API: a password hashed as the exchange hashes them
    trader = live.signup("pw")
    s = open_session(browser, live)
    sessions.append(s)
    s.login(trader.username, trader.password)
    page = s.goto("/account/password")
    new = "another-long-pass-phrase-31"
    page.get_by_label("Old password").fill(trader.password)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password confirmation").fill(new)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".flash")).to_contain_text("Your password was changed")
    s.context.clear_cookies()
    s.login(trader.username, new)


# --- trading --------------------------------------------------------------------------------------


def test_a_limit_buy_rests_in_book_and_open_orders_and_its_cancel_unlocks_the_funds(ui_trader):
    s, _ = ui_trader(USDC="1000")
    page = s.goto("/trade/SOL_USDC")
    s.live()
    available = page.locator("#form-available")
    expect(available).to_have_text("1,000.000000")

    place_from_form(page, "buy", "20.00", "2.00")
    expect(page.locator("#order-ok")).to_contain_text("Buy limit order placed: 2.00 SOL at 20.00")
    row = page.locator("#open-orders tr[data-order-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("20.00")
    expect(page.locator('#book-bids .row[data-price="20.00"]')).to_have_attribute(
        "data-size", "2.00"
    )
    expect(available).to_have_text("960.000000")  # 40 USDC locked
    # a price picked in the book fills the form's
    page.get_by_label("Price", exact=True).fill("")
    page.locator('#book-bids .row[data-price="20.00"]').click()
    expect(page.get_by_label("Price", exact=True)).to_have_value("20.00")

    row.get_by_role("button", name="Cancel").click()
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    expect(page.locator('#book-bids .row[data-price="20.00"]')).to_have_count(0)
    expect(available).to_have_text("1,000.000000")
    page.get_by_role("tab", name="Order history").click()
    expect(page.locator("#order-history tr").first).to_contain_text("Cancelled")


def test_a_cross_between_two_browsers_shows_live_on_both(ui_trader):
    buyer, _ = ui_trader(USDC="1000")
    seller, _ = ui_trader(SOL="10")
    pages = [buyer.goto("/trade/SOL_USDC"), seller.goto("/trade/SOL_USDC")]
    for session in (buyer, seller):
        session.live()
    seller.page.locator("label[for=side-sell]").click()
    expect(seller.page.locator("#form-available")).to_have_text("10.000000000")
    volume_before = [p.locator('#chart-legend [data-k="v"]').inner_text() for p in pages]

    place_from_form(buyer.page, "buy", "21.00", "1.00")
    expect(buyer.page.locator("#open-orders tr[data-order-id]")).to_have_count(1)
    place_from_form(seller.page, "sell", "21.00", "1.00")
    expect(seller.page.locator("#order-ok")).to_contain_text("Sell limit order filled")

    for page in pages:
        # the trade in recent trades, in the user's fills, and in the chart's current candle
        newest = page.locator("#trades li").first
        expect(newest).to_contain_text("21.00")
        expect(newest).to_contain_text("1.00")
        page.get_by_role("tab", name="Fills").click()
        expect(page.locator("#fills tr[data-trade-id]").first).to_contain_text("21.00")
        expect(page.locator('#chart-legend [data-k="c"]')).to_have_text("21.00")
        expect(page.locator("#tk-last")).to_have_text("21.00")
    for page, before in zip(pages, volume_before, strict=True):
        expect(page.locator('#chart-legend [data-k="v"]')).not_to_have_text(before)
    # balances moved without a reload: 21 USDC paid, 1 SOL sold
    expect(buyer.page.locator("#form-available")).to_have_text("979.000000")
    expect(seller.page.locator("#form-available")).to_have_text("9.000000000")
    expect(buyer.page.locator("#open-orders tr[data-order-id]")).to_have_count(0)


def test_the_book_equals_the_depth_endpoint_after_a_burst_of_orders_and_cancels(
    browser, live, sessions, make_trader
):
    s = open_session(browser, live)
    sessions.append(s)
    page = s.goto("/trade/ETH_USDC")
    s.live()
    traders = [make_trader("burst", USDC="100000", ETH="50") for _ in range(2)]
    rng = random.Random(16)
    resting: list[tuple[Trader, int]] = []
    for _ in range(120):
        trader = rng.choice(traders)
        roll = rng.random()
        if roll < 0.2 and resting:
            owner, order_id = resting.pop(rng.randrange(len(resting)))
            owner.api.delete("/api/v1/order", symbol="ETH_USDC", order_id=order_id)
            continue
        side = rng.choice(["buy", "sell"])
        price = Decimal(2000) + Decimal(rng.randint(-1500, 1500)) / 100
        body = {"symbol": "ETH_USDC", "side": side, "price": str(price)}
        body["quantity"] = str(Decimal(rng.randint(30, 5000)) / 10000)
        placed = order(trader, **body)
        if placed["status"] in ("new", "partially_filled", "pending"):
            resting.append((trader, placed["order_id"]))
    live.wait_settled()
    wait_until(
        lambda: book_matches_depth(page, live, "ETH_USDC"),
        timeout=20,
        what="the page's book equal to GET /depth",
    )
    shown = page_book(page)
    assert len(shown["bids"]) == 12 and len(shown["asks"]) == 12  # a full book on both sides

    # grouped by 1.00 (100 ticks): bids floor to the group, asks ceil, sizes summed exactly
    full = depth(live, "ETH_USDC", limit=1000)
    page.get_by_label("Group").select_option("1")
    expected = {
        "bids": grouped(full["bids"], floor=True),
        "asks": grouped(full["asks"], floor=False),
    }
    wait_until(lambda: page_book(page) == expected, timeout=10, what="the book grouped by 1.00")


def test_rejected_orders_show_the_apis_message(ui_trader, make_trader):
    s, _ = ui_trader(USDC="100")
    bot = make_trader("bot", USDC="100")
    page = s.goto("/trade/SOL_USDC")
    s.live()

    # insufficient funds: 2,000 USDC for 100 available
    place_from_form(page, "buy", "20.00", "100.00")
    expected = bot.api.post(
        "/api/v1/order",
        {
            "symbol": "SOL_USDC",
            "side": "buy",
            "type": "limit",
            "price": "20.00",
            "quantity": "100.00",
        },
    ).json()["error"]
    assert expected["code"] == "insufficient_funds"
    expect(page.locator("#order-error")).to_contain_text(expected["message"])

    # off the tick: the form says so as it is typed, and the API's refusal is shown on submit
    page.get_by_label("Price", exact=True).fill("20.005")
    expect(page.locator("#hint-price")).to_contain_text("multiple of the tick size, 0.01")
    page.get_by_label("Amount").fill("1.00")
    page.locator("#order-submit").click()
    expected = bot.api.post(
        "/api/v1/order",
        {
            "symbol": "SOL_USDC",
            "side": "buy",
            "type": "limit",
            "price": "20.005",
            "quantity": "1.00",
        },
    ).json()["error"]
    assert expected["code"] == "price_off_tick"
    expect(page.locator("#order-error")).to_contain_text(expected["message"])
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)


def test_the_page_resyncs_after_its_websocket_is_dropped(live, ui_trader, make_trader):
    s, trader = ui_trader(USDC="1000")
    seller = make_trader("seller", BTC="1")
    bidder = make_trader("bidder", USDC="1000")
    page = s.goto("/trade/BTC_USDC")
    s.live()
    mine = order(trader, symbol="BTC_USDC", side="buy", price="60000.0", quantity="0.00100")
    expect(page.locator(f'#open-orders tr[data-order-id="{mine["order_id"]}"]')).to_have_count(1)
    expect(page.locator("#form-available")).to_have_text("940.000000")

    # when the WebSocket server dies, the page says so ...
    ws = live.procs["ws"]
    ws.kill()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "reconnecting")
    # ... while the market moves: the resting order is filled, a new bid rests
    order(seller, symbol="BTC_USDC", side="sell", price="60000.0", quantity="0.00100")
    order(bidder, symbol="BTC_USDC", side="buy", price="59000.0", quantity="0.00200")
    live.wait_settled()
    live.start("ws", ws.argv)
    wait_ws_up(live)

    # then the page reconnects by itself and catches up with everything it missed
    s.live()
    wait_until(
        lambda: book_matches_depth(page, live, "BTC_USDC"), timeout=15, what="book re-synced"
    )
    assert page_book(page)["bids"][0] == ["59000.0", "0.00200"]
    expect(page.locator("#trades li").first).to_contain_text("60000.0")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    page.get_by_role("tab", name="Fills").click()
    expect(page.locator("#fills tr[data-trade-id]").first).to_contain_text("60000.0")
    expect(page.locator("#form-available")).to_have_text("940.000000")  # spent, not locked
    page.locator("label[for=side-sell]").click()
    expect(page.locator("#form-available")).to_have_text(
        "0.00099900"
    )  # 0.001 BTC less the maker fee


def test_a_user_never_sees_another_users_orders_or_balances(live, ui_trader):
    a, alice = ui_trader(USDC="500")
    b, bob = ui_trader(USDC="700", SOL="3")
    order(alice, symbol="SOL_USDC", side="buy", price="10.00", quantity="1.00")
    bobs = order(bob, symbol="SOL_USDC", side="buy", price="11.00", quantity="1.00")
    page = b.goto("/trade/SOL_USDC")
    b.live()
    # alice acts while bob watches: her order reaches the public book, never his tables
    later = order(alice, symbol="SOL_USDC", side="buy", price="12.00", quantity="1.00")
    expect(page.locator('#book-bids .row[data-price="12.00"]')).to_have_count(1)
    ids = page.eval_on_selector_all(
        "#open-orders tr[data-order-id], #order-history tr[data-order-id]",
        "rows => rows.map(r => Number(r.dataset.orderId))",
    )
    assert set(ids) == {bobs["order_id"]}
    assert later["order_id"] not in ids
    expect(page.locator("#form-available")).to_have_text("689.000000")

    orders_page = b.goto("/orders")
    expect(orders_page.locator("#open-orders tr[data-order-id]")).to_have_count(1)
    assert str(later["order_id"]) not in orders_page.content()

    wallet = b.goto("/wallet")
    b.live()
    shown = {
        row.get_attribute("data-asset"): row.locator('[data-field="available"]').inner_text()
        for row in wallet.locator("#balances tbody tr[data-asset]").all()
    }
    assert shown["USDC"] == "689.000000"
    assert shown["SOL"] == "3.000000000"
    mine = a.goto("/wallet")
    expect(mine.locator('#balances tr[data-asset="USDC"] [data-field="available"]')).to_have_text(
        "478.000000"
    )


# --- layout ---------------------------------------------------------------------------------------


def test_phone_width_has_no_horizontal_scroll_and_panels_stack(browser, live, sessions, ui_trader):
    anonymous = open_session(browser, live, PHONE)
    sessions.append(anonymous)
    trader, _ = ui_trader(PHONE, USDC="100")
    for s in (anonymous, trader):
        for path in ("/", "/trade/SOL_USDC", "/trade/ETH_USDC"):
            page = s.goto(path)
            s.live()
            assert no_horizontal_scroll(page), path
        # stacked: the book is below the chart, not beside it
        chart = page.locator(".chart-panel").bounding_box()
        book = page.locator(".book-panel").bounding_box()
        assert chart and book and book["y"] >= chart["y"] + chart["height"]


def test_the_market_switcher_opens_another_market(browser, live, sessions):
    s = open_session(browser, live)
    sessions.append(s)
    page = s.goto("/trade/SOL_USDC")
    page.locator("#market-switcher summary").click()
    page.locator('#market-switcher a[data-symbol="ETH_USDC"]').click()
    expect(page).to_have_url(f"{live.base_url}/trade/ETH_USDC")
    expect(page.locator(".market-bar h1")).to_have_text("ETH/USDC")
    page = s.goto("/")
    page.locator('.market-row[data-symbol="BTC_USDC"] td').first.click()
    expect(page).to_have_url(f"{live.base_url}/trade/BTC_USDC")


def test_every_page_is_captured_at_desktop_and_phone_width(
    browser, live, sessions, shots: Path, make_trader, django_db_blocker
):
    """The screenshots (docs/screenshots/ keeps current ones): every page, both widths."""
    trader = make_trader("shot", USDC="25000", ETH="10", SOL="100")
    order(trader, symbol="ETH_USDC", side="buy", price="1900.00", quantity="0.5000")
    order(trader, symbol="ETH_USDC", side="sell", price="2100.00", quantity="0.2500")
    for viewport, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
        anonymous = open_session(browser, live, viewport)
        sessions.append(anonymous)
        for path, name in (("/", "markets"), ("/signup", "signup"), ("/login", "login")):
            anonymous.goto(path)
            anonymous.live()
            anonymous.screenshot(shots, f"{name}-{tag}")
        s = open_session(browser, live, viewport)
        sessions.append(s)
        s.log_in(trader, django_db_blocker)
        for path, name in (
            ("/trade/ETH_USDC", "trade"),
            ("/wallet", "wallet"),
            ("/orders", "orders"),
            ("/account/api-keys", "api-keys"),
            ("/account/password", "password"),
        ):
            page = s.goto(path)
            s.live()
            if name == "trade":
                expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(2)
                wait_until(partial(book_matches_depth, page, live, "ETH_USDC"), timeout=10)
            s.screenshot(shots, f"{name}-{tag}")
    expected = {
        f"{name}-{tag}.png"
        for name in (
            "markets",
            "signup",
            "login",
            "trade",
            "wallet",
            "orders",
            "api-keys",
            "password",
        )
        for tag in ("desktop", "phone")
    }
    assert expected <= {p.name for p in shots.iterdir()}
