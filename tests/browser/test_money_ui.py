"""Money in and out in a real browser: the wallet's withdrawal (fee, paid out, cancelled) and
statements, the security page's two-factor set-up, and the log-in's second step; against the
whole exchange with a Celery worker and beat, as the run command starts it.

Screenshots (``BROWSER_SCREENSHOTS``): security, security-setup, security-codes, login-code,
each at 1440 and 390 px.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, VENDOR, no_horizontal_scroll, open_session
from tests.integration.conftest import Stack, start_stack, stop_stack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def live(
    async_unsafe_ok: None,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The browser tests' stack with the Celery worker and beat: deposits confirmed by the dev
    source's task, withdrawals paid by the dev backend, statements built."""
    if not VENDOR.exists():
        pytest.fail("static/vendor/ is missing: run ./scripts/test (needs npm)")
    env = {
        "DEPOSIT_SOURCE": "dev",
        "DEPOSIT_DEV_CONFIRM_DELAY_S": "0.2",
        "PAYOUT_DEV_DELAY_S": "0.3",
        "WITHDRAWAL_SWEEP_S": "2",
        "RECONCILE_EVERY_S": "3600",
        "VAR_DIR": str(tmp_path_factory.mktemp("var")),
    }
    with django_db_blocker.unblock():
        stack = start_stack(tmp_path_factory, websocket=True, celery=True, extra_env=env)
        try:
            yield stack
        finally:
            from django.db import connections

            stop_stack(stack)
            connections.close_all()


def wallet_row(page: Page, asset: str):
    return page.locator(f'#balances tr[data-asset="{asset}"]')


def test_a_withdrawal_from_the_wallet_shows_its_fee_and_is_paid_out(
    browser, live, sessions, make_trader, django_db_blocker
):
    trader = make_trader("payer", USDC="500")
    s = open_session(browser, live)
    sessions.append(s)
    s.log_in(trader, django_db_blocker)
    page = s.goto("/wallet")
    s.live()
    page.locator("#withdraw-asset").select_option("USDC")
    page.locator("#withdraw-amount").fill("40")
    # the form says what it costs before anything is sent
    expect(page.locator("#withdraw-fee")).to_have_text("1 USDC")
    expect(page.locator("#withdraw-total")).to_have_text("41 USDC")
    expect(page.locator("#withdraw-limits")).to_contain_text("min 10")
    page.locator("#withdraw-address").fill("0x" + "4" * 40)
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#withdraw-ok")).to_contain_text("approved")
    # paid by the worker: the history says so, and 41 left the balance
    expect(page.locator("#withdrawals tbody tr").first.locator(".status")).to_have_text(
        "Completed", timeout=20_000
    )
    expect(wallet_row(page, "USDC").locator('[data-field="available"]')).to_have_text("459.000000")
    expect(wallet_row(page, "USDC").locator('[data-field="locked"]')).to_have_text("0.000000")


def test_a_wrong_address_is_refused_with_the_apis_message(
    browser, live, sessions, make_trader, django_db_blocker
):
    trader = make_trader("typo", USDC="100")
    s = open_session(browser, live)
    sessions.append(s)
    s.log_in(trader, django_db_blocker)
    page = s.goto("/wallet")
    page.locator("#withdraw-asset").select_option("USDC")
    page.locator("#withdraw-amount").fill("20")
    page.locator("#withdraw-address").fill("bc1-not-an-evm-address")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#withdraw-error")).to_contain_text("not a valid USDC address")


def test_a_pending_withdrawal_is_cancelled_from_the_wallet(
    browser, live, sessions, make_trader, django_db_blocker
):
    trader = make_trader("changed_mind", USDC="3000")
    s = open_session(browser, live)
    sessions.append(s)
    s.log_in(trader, django_db_blocker)
    page = s.goto("/wallet")
    s.live()
    page.locator("#withdraw-asset").select_option("USDC")
    page.locator("#withdraw-amount").fill("1500")  # above the threshold: waits for an operator
    page.locator("#withdraw-address").fill("0x" + "5" * 40)
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#withdraw-ok")).to_contain_text("requested")
    expect(wallet_row(page, "USDC").locator('[data-field="locked"]')).to_have_text("1,501.000000")
    page.locator("#withdrawals [data-cancel]").first.click()
    expect(page.locator("#withdrawals tbody tr").first.locator(".status")).to_have_text("Cancelled")
    expect(wallet_row(page, "USDC").locator('[data-field="available"]')).to_have_text(
        "3,000.000000"
    )


def test_a_statement_is_built_and_downloaded_from_the_wallet(
    browser, live, sessions, make_trader, django_db_blocker
):
    trader = make_trader("accountant", USDC="250", SOL="3")
    s = open_session(browser, live)
    sessions.append(s)
    s.log_in(trader, django_db_blocker)
    page = s.goto("/wallet")
    page.get_by_role("button", name="Build statement").click()
    link = page.locator("#statements a", has_text="Download CSV")
    expect(link).to_be_visible(timeout=20_000)
    with page.expect_download() as download:
        link.click()
    text = Path(download.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0].startswith("record,time,time_ms,asset,reason,cause")
    deposits = [line for line in lines if line.startswith("ledger,") and ",deposit," in line]
    assert len(deposits) == 2, text


def enable_two_factor(page: Page, shots: Path | None, tag: str) -> tuple[pyotp.TOTP, list[str]]:
    page.get_by_role("button", name="Set up two-factor authentication").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    if shots:
        page.screenshot(path=shots / f"security-setup-{tag}.png", full_page=True)
    totp = pyotp.TOTP(secret)
    page.get_by_label("Authentication code").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes")).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    if shots:
        page.screenshot(path=shots / f"security-codes-{tag}.png", full_page=True)
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """The next step's code: the one just used is refused (it works once)."""
    return totp.at(time.time() + 30)


def test_two_factor_is_set_up_then_asked_at_log_in_and_for_withdrawals(
    browser, live, sessions, shots
):
    trader = live.funded("careful", USDC="100")  # signed up: the web process hashed its password
    s = open_session(browser, live)
    sessions.append(s)
    s.login(trader.username, trader.password)  # no code: two-factor is off
    page = s.goto("/account/security")
    expect(page.locator("#tfa-state")).to_have_text("Off")
    page.screenshot(path=shots / "security-desktop.png", full_page=True)
    totp, codes = enable_two_factor(page, shots, "desktop")
    expect(page.locator("#tfa-state")).to_have_text("On")
    # a withdrawal from the wallet now asks for the code
    page = s.goto("/wallet")
    page.locator("#withdraw-asset").select_option("USDC")
    page.locator("#withdraw-amount").fill("20")
    page.locator("#withdraw-address").fill("0x" + "6" * 40)
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#withdraw-error")).to_contain_text("code from your authenticator")
    used = next_code(totp)
    page.locator("#withdraw-totp").fill(used)
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#withdraw-ok")).to_contain_text("Withdrawal of 20 USDC")
    # and so does a new API key; the code just used is refused there (each works once)
    page = s.goto("/account/api-keys")
    page.get_by_label("Label").fill("bot")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#api-key-error")).to_contain_text("code from your authenticator")
    page.get_by_label("Authentication code").fill(used)
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#api-key-error")).to_contain_text("already used")
    # log out; logging in takes the password, then the code
    page.locator(".usermenu summary").click()
    page.get_by_role("menuitem", name="Log out").click()
    page = s.goto("/login")
    page.get_by_label("Username").fill(trader.username)
    page.get_by_label("Password").fill(trader.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Two-factor code")
    page.screenshot(path=shots / "login-code-desktop.png", full_page=True)
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".hint.error")).to_contain_text("wrong or expired")
    page.get_by_label("Authentication code").fill(codes[0])  # a recovery code works once
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".usermenu .username")).to_have_text(trader.username)


def test_the_money_pages_fit_a_phone_and_are_captured(browser, live, sessions, shots):
    trader = live.funded("pocket", USDC="100")
    s = open_session(browser, live, PHONE)
    sessions.append(s)
    s.login(trader.username, trader.password)
    page = s.goto("/account/security")
    page.screenshot(path=shots / "security-phone.png", full_page=True)
    assert no_horizontal_scroll(page)
    totp, _ = enable_two_factor(page, shots, "phone")
    assert no_horizontal_scroll(page)
    page = s.goto("/wallet")
    s.live()
    assert no_horizontal_scroll(page)
    page.locator(".usermenu summary").click()
    page.get_by_role("menuitem", name="Log out").click()
    page = s.goto("/login")
    page.get_by_label("Username").fill(trader.username)
    page.get_by_label("Password").fill(trader.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Two-factor code")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "login-code-phone.png", full_page=True)
    page.get_by_label("Authentication code").fill(next_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".usermenu")).to_be_visible()
    assert re.search(r"/$", page.url)
