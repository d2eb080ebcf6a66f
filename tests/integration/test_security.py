"""Nobody acts for someone else: authentication, permissions and ownership on every private
endpoint, over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from accounts.keys import api_key_secret
from accounts.models import ApiKey
from tests.integration.conftest import Stack, Trader
from tests.support.signing import SignedClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SYMBOL = "SOL_USDC"
ORDER = {"symbol": SYMBOL, "side": "buy", "type": "limit", "price": "1", "quantity": "1"}

# (method, path, query, body, permission needed)
PRIVATE: list[tuple[str, str, dict[str, Any] | None, Any, str]] = [
    ("POST", "/api/v1/order", None, ORDER, "trade"),
    ("GET", "/api/v1/order", {"symbol": SYMBOL, "order_id": 1}, None, "read"),
    ("DELETE", "/api/v1/order", {"symbol": SYMBOL, "order_id": 1}, None, "trade"),
    ("GET", "/api/v1/orders", None, None, "read"),
    ("DELETE", "/api/v1/orders", None, None, "trade"),
    ("GET", "/api/v1/user/orders", None, None, "read"),
    ("GET", "/api/v1/user/trades", None, None, "read"),
    ("GET", "/api/v1/user/balances", None, None, "read"),
    ("POST", "/api/v1/user/deposit", None, {"asset": "USDC", "amount": "1"}, "trade"),
    (
        "POST",
        "/api/v1/user/withdraw",
        None,
        {"asset": "USDC", "amount": "1", "address": "addr"},
        "withdraw",
    ),
]
IDS = [f"{m} {p}" for m, p, *_ in PRIVATE]


@pytest.fixture(scope="module")
def owner(stack: Stack) -> Trader:
    return stack.funded("owner", USDC="1000", SOL="10")


@pytest.fixture(scope="module")
def intruder(stack: Stack) -> Trader:
    return stack.funded("intruder", USDC="1000", SOL="10")


@pytest.mark.parametrize(("method", "path", "query", "body", "perm"), PRIVATE, ids=IDS)
def test_private_endpoint_refuses_anonymous_requests(
    stack: Stack, method: str, path: str, query: Any, body: Any, perm: str
) -> None:
    resp = requests.request(method, stack.base_url + path, params=query, json=body, timeout=10)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "authentication_required"


@pytest.mark.parametrize(("method", "path", "query", "body", "perm"), PRIVATE, ids=IDS)
def test_private_endpoint_refuses_a_bad_signature(
    stack: Stack, owner: Trader, method: str, path: str, query: Any, body: Any, perm: str
) -> None:
    resp = owner.api.request(method, path, params=query, json_body=body, secret="0" * 64)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(("method", "path", "query", "body", "perm"), PRIVATE, ids=IDS)
def test_private_endpoint_refuses_a_stale_timestamp(
    stack: Stack, owner: Trader, method: str, path: str, query: Any, body: Any, perm: str
) -> None:
    stale = int(time.time() * 1000) - 60_000
    resp = owner.api.request(method, path, params=query, json_body=body, timestamp_ms=stale)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "timestamp_out_of_window"


@pytest.mark.parametrize(("method", "path", "query", "body", "perm"), PRIVATE, ids=IDS)
def test_private_endpoint_refuses_a_key_without_its_permission(
    stack: Stack, method: str, path: str, query: Any, body: Any, perm: str
) -> None:
    others = [p for p in ("read", "trade", "withdraw") if p != perm]
    limited = stack.signup("limited", others)
    resp = limited.api.request(method, path, params=query, json_body=body)
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "missing_permission"


def test_a_revoked_key_is_refused(stack: Stack) -> None:
    trader = stack.signup("revoker", ["read", "trade"])
    # Used many times first, so every web process is likely to hold it in its key cache.
    for _ in range(20):
        assert trader.api.get("/api/v1/user/balances").status_code == 200
        # order writes check revocation in their command's submit (docs/reliability.md)
        assert trader.api.delete("/api/v1/orders", symbol=SYMBOL).status_code == 200
    resp = requests.delete(
        f"{stack.base_url}/api/v1/api-keys/{trader.api.api_key}",
        auth=(trader.username, trader.password),
        timeout=10,
    )
    assert resp.status_code in (200, 204), resp.text
    for _ in range(20):  # refused at once, by every process
        for again in (
            trader.api.get("/api/v1/user/balances"),
            trader.api.post("/api/v1/order", ORDER),
            trader.api.delete("/api/v1/orders", symbol=SYMBOL),
        ):
            assert again.status_code == 401, again.text
            assert again.json()["error"]["code"] == "api_key_revoked"


def test_an_unknown_key_is_refused(stack: Stack) -> None:
    ghost = SignedClient(stack.base_url, "f" * 32, "0" * 64)
    resp = ghost.get("/api/v1/user/balances")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_api_keys_cannot_be_managed_with_an_api_key(stack: Stack, owner: Trader) -> None:
    # a leaked read-only key must not be able to mint a withdraw key
    resp = owner.api.post("/api/v1/api-keys", {"permissions": ["withdraw"]})
    assert resp.status_code == 401, resp.text


def test_the_secret_is_not_stored_in_plain_text(stack: Stack, owner: Trader) -> None:
    row = ApiKey.objects.get(key_id=owner.api.api_key)
    stored = " ".join(str(getattr(row, f.attname)) for f in ApiKey._meta.concrete_fields)
    assert owner.api.api_secret not in stored
    assert api_key_secret(row) == owner.api.api_secret


def test_a_user_can_never_read_or_cancel_another_users_orders(
    stack: Stack, owner: Trader, intruder: Trader
) -> None:
    # given an open order of the owner, with a client order id
    placed = owner.api.post("/api/v1/order", {**ORDER, "client_order_id": "secret-1"})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]

    # when the intruder tries every way to reach it
    attempts = [
        intruder.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id),
        intruder.api.get("/api/v1/order", symbol=SYMBOL, client_order_id="secret-1"),
        intruder.api.delete("/api/v1/order", symbol=SYMBOL, order_id=order_id),
        intruder.api.delete("/api/v1/order", symbol=SYMBOL, client_order_id="secret-1"),
    ]
    cancel_all = intruder.api.delete("/api/v1/orders", symbol=SYMBOL)

    # then the order does not exist for them and is untouched
    for resp in attempts:
        assert resp.status_code == 404, resp.text
    assert cancel_all.status_code == 200 and cancel_all.json() == []
    assert all(o["order_id"] != order_id for o in intruder.api.get("/api/v1/orders").json())
    history = intruder.api.get("/api/v1/user/orders").json()
    rows = history["results"] if isinstance(history, dict) else history
    assert all(o["order_id"] != order_id for o in rows)
    mine = owner.api.get("/api/v1/order", symbol=SYMBOL, order_id=order_id)
    assert mine.json()["status"] == "new"
    owner.api.delete("/api/v1/orders")


def test_trades_list_only_the_callers_fills(stack: Stack, owner: Trader, intruder: Trader) -> None:
    sell = {**ORDER, "side": "sell", "price": "5", "quantity": "1"}
    assert owner.api.post("/api/v1/order", sell).status_code == 201
    buy = {**ORDER, "price": "5", "quantity": "1"}
    assert intruder.api.post("/api/v1/order", buy).json()["status"] == "filled"
    third = stack.funded("third", USDC="10")
    listing = third.api.get("/api/v1/user/trades").json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    assert rows == []
