"""Browser tests: Playwright (sync API) driving Debian's Chromium against the whole exchange run
as real processes: the REST server, matcher, persister, market-data publisher and WebSocket
server (tests/integration/conftest.py, ``start_stack(websocket=True)``).

One stack and one browser per module. Screenshots go to ``BROWSER_SCREENSHOTS`` if set (the
committed ones: ``BROWSER_SCREENSHOTS=docs/screenshots``), else to the pytest temporary
directory, named ``<page>-<desktop|phone>.png``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from accounts.models import ApiKey, User
from accounts.services import api_key_create
from tests.integration.conftest import Stack, Trader, start_stack, stop_stack
from tests.support.processes import ROOT
from tests.support.signing import SignedClient
from tests.support.waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
VENDOR = ROOT / "static" / "vendor" / "lightweight-charts.mjs"

expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real-process tests last, the browser ones after the integration ones."""
    items.sort(
        key=lambda item: (
            "tests/integration/" in str(item.path) or "tests/browser/" in str(item.path),
            "tests/browser/" in str(item.path),
        )
    )


@pytest.fixture(scope="module")
def async_unsafe_ok() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test's thread; Django refuses ORM calls
    made there unless told it is safe, which it is: that loop only drives the browser."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def live(
    async_unsafe_ok: None,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    if not VENDOR.exists():
        pytest.fail(
            f"{VENDOR.relative_to(ROOT)} is missing: run ./scripts/test (it installs the web "
            "UI's npm packages; needs npm)"
        )
    with django_db_blocker.unblock():
        stack = start_stack(tmp_path_factory, websocket=True)
        try:
            yield stack
        finally:
            stop_stack(stack)
            # Under Playwright's loop Django keeps a connection of its own for this context:
            # closed here, or the test database cannot be dropped at the end of the run.
            connections.close_all()


@pytest.fixture(scope="module")
def browser(async_unsafe_ok: None) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("BROWSER_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def make_trader(live: Stack, django_db_blocker: Any) -> Callable[..., Trader]:
    """A trader made in the database (no password hashing in the stack's processes: that is
    most of a second each) with an API key, funded through the API (credited by the matcher).
    Browser tests log such traders in with ``Session.log_in``; the log-in page has its own test.
    """

    def make(prefix: str = "trader", **funds: str) -> Trader:
        name = f"{prefix}_{next(_names)}"  # "_": never a name Stack.signup gives

        def create() -> tuple[User, ApiKey, str]:
            user = User.objects.create_user(name, email=f"{name}@example.com", password=name)
            return (user, *api_key_create(user, "tests", ["read", "trade", "withdraw"]))

        user, key, secret = committed(django_db_blocker, create)
        trader = Trader(
            name, name, user.pk, SignedClient(live.base_url, key.key_id, secret), key.permissions
        )
        for asset, amount in funds.items():
            resp = trader.api.post("/api/v1/user/deposit", {"asset": asset, "amount": amount})
            assert resp.status_code == 201, resp.text

        def credited() -> bool:
            resp = trader.api.get("/api/v1/user/balances")
            if resp.status_code != 200:
                return False
            got = {b["asset"]: Decimal(b["available"]) for b in resp.json()}
            return all(got.get(a, Decimal(0)) >= Decimal(v) for a, v in funds.items())

        wait_until(credited, timeout=15, what=f"deposits of {name} credited")
        return trader

    return make


_names = itertools.count(1)
T = TypeVar("T")


def committed(blocker: Any, write: Callable[[], T]) -> T:
    """Run ``write`` on a connection of its own, committed at once, for the stack's processes
    to see: the test's own connection is inside the transaction pytest-django rolls back."""

    def run() -> T:
        try:
            with blocker.unblock():
                return write()
        finally:
            connections.close_all()  # this thread's

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@dataclass
class Session:
    """One browser context (its own cookies), one page, and what the page reported wrong."""

    context: BrowserContext
    page: Page
    base_url: str
    errors: list[str]

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def live(self) -> None:
        """Until the page's WebSocket is connected and subscribed (the header's state)."""
        expect(self.page.locator("#conn-state")).to_have_attribute("data-state", "live")

    def login(self, username: str, password: str) -> None:
        page = self.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".usermenu .username")).to_have_text(username)

    def log_in(self, trader: Trader, blocker: Any) -> None:
        """Log ``trader`` in as Django's test client's force_login does: a session row and its
        cookie (the log-in page itself is tested on its own)."""

        def create() -> SessionStore:
            user = User.objects.get(pk=trader.user_id)
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            return store

        store = committed(blocker, create)
        self.context.add_cookies(
            [{"name": "sessionid", "value": store.session_key or "", "url": self.base_url}]
        )

    def screenshot(self, folder: Path, name: str) -> None:
        self.page.screenshot(path=folder / f"{name}.png", full_page=True)

    def close(self) -> None:
        self.context.close()


def open_session(browser: Browser, stack: Stack, viewport: ViewportSize = DESKTOP) -> Session:
    context = browser.new_context(viewport=viewport, base_url=stack.base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and not _expected_console_error(msg.text)
            else None
        ),
    )
    return Session(context, page, stack.base_url, errors)


# Failed requests the page reports itself (a refused order, a dropped WebSocket): the browser
# logs them as console errors too.
_EXPECTED = re.compile(r"status of 4\d\d|WebSocket connection to .* failed|ERR_CONNECTION_REFUSED")


def _expected_console_error(text: str) -> bool:
    return bool(_EXPECTED.search(text))


@pytest.fixture
def sessions(browser: Browser, live: Stack) -> Iterator[list[Session]]:
    """Browser sessions opened by a test; closed after it, and none may have logged a page
    error (or an unexpected console error)."""
    opened: list[Session] = []
    yield opened
    errors = [e for s in opened for e in s.errors]
    for s in opened:
        s.close()
    assert errors == []


@pytest.fixture
def ui_trader(browser, live, sessions, make_trader, django_db_blocker):
    """A funded trader logged in in a browser session of its own: (session, trader)."""

    def make(viewport=DESKTOP, **funds: str) -> tuple[Session, Trader]:
        trader = make_trader("ui", **funds)
        session = open_session(browser, live, viewport)
        sessions.append(session)
        session.log_in(trader, django_db_blocker)
        return session, trader

    return make


def order(trader: Trader, **fields: Any) -> dict[str, Any]:
    resp = trader.api.post("/api/v1/order", {"type": "limit", **fields})
    assert resp.status_code in (201, 202), resp.text
    body: dict[str, Any] = resp.json()
    return body


def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )
