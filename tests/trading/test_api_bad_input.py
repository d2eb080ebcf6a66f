"""Every malformed order request gets a 4xx with a stable code before anything reaches the
matcher (no pipeline runs here: a request that got through would answer 202, not 4xx)."""

import json

import pytest

from tests.api import Api

pytestmark = pytest.mark.usefixtures("api_env")

OK = {"symbol": "SOL_USDC", "side": "buy", "type": "limit", "price": "10", "quantity": "1"}

BODIES = [
    # (body, status, code)
    ({**OK, "price": 10}, 400, "invalid_number"),
    ({**OK, "price": 10.5}, 400, "invalid_number"),
    ({**OK, "quantity": True}, 400, "invalid_number"),
    ({**OK, "price": "NaN"}, 400, "not_finite"),
    ({**OK, "price": "Infinity"}, 400, "not_finite"),
    ({**OK, "price": "-Infinity"}, 400, "not_finite"),
    ({**OK, "price": "1e400"}, 400, "out_of_range"),
    ({**OK, "price": "0.0000000000000000000001"}, 400, "price_off_tick"),
    ({**OK, "price": "10.001"}, 400, "price_off_tick"),
    ({**OK, "quantity": "1.001"}, 400, "quantity_off_lot"),
    ({**OK, "price": "0"}, 400, "non_positive"),
    ({**OK, "price": "-10"}, 400, "non_positive"),
    ({**OK, "price": "1" * 41}, 400, "invalid_number"),
    ({**OK, "price": "99999999999999999999999999999999999999"}, 400, "out_of_range"),
    # bounded money (docs/reliability.md): every price, quantity and notional below 10**19
    ({**OK, "price": "10000000000000000000"}, 400, "out_of_range"),
    ({**OK, "quantity": "10000000000000000000"}, 400, "out_of_range"),
    ({**OK, "price": "40000000000000000", "quantity": "1000"}, 400, "above_max_notional"),
    (
        {**OK, "side": "sell", "price": "5000000000000000", "quantity": "2000"},
        400,
        "above_max_notional",
    ),
    (
        {**OK, "type": "market", "price": None, "quote_quantity": "10000000000000000000"},
        400,
        "invalid_request",
    ),
    (
        {
            **OK,
            "type": "market",
            "price": None,
            "quantity": None,
            "quote_quantity": "10000000000000000000",
        },
        400,
        "out_of_range",
    ),
    ({**OK, "price": "ten"}, 400, "invalid_number"),
    ({**OK, "price": "1_0"}, 400, "invalid_number"),
    ({**OK, "price": " 10"}, 400, "invalid_number"),
    ({**OK, "price": "\u0661\u0660"}, 400, "invalid_number"),  # Arabic-Indic "10"
    ({**OK, "price": ""}, 400, "invalid_number"),
    ({**OK, "price": {"value": "10"}}, 400, "invalid_number"),
    ({**OK, "price": ["10"]}, 400, "invalid_number"),
    ({**OK, "price": "0.5", "quantity": "1"}, 400, "below_min_notional"),
    ({**OK, "symbol": "NOPE_USDC"}, 400, "unknown_market"),
    ({**OK, "symbol": "sol_usdc"}, 400, "invalid_request"),
    ({**OK, "symbol": 7}, 400, "invalid_request"),
    ({**OK, "symbol": "S" * 5000}, 400, "invalid_request"),
    ({**OK, "side": "hold"}, 400, "invalid_request"),
    ({**OK, "side": None}, 400, "invalid_request"),
    ({**OK, "type": "stop"}, 400, "invalid_request"),
    ({**OK, "time_in_force": "GTX"}, 400, "invalid_request"),
    ({**OK, "time_in_force": "GTD"}, 400, "invalid_expire_time"),  # GTD needs expire_time
    ({**OK, "stp_mode": "none"}, 400, "invalid_request"),
    ({**OK, "post_only": "yes"}, 400, "invalid_request"),
    ({**OK, "post_only": True, "time_in_force": "IOC"}, 400, "invalid_request"),
    ({**OK, "client_order_id": "has space"}, 400, "invalid_request"),
    ({**OK, "client_order_id": "x" * 37}, 400, "invalid_request"),
    ({**OK, "client_order_id": 5}, 400, "invalid_request"),
    ({**OK, "client_order_id": "ünï"}, 400, "invalid_request"),
    ({**OK, "quote_quantity": "5"}, 400, "invalid_request"),
    ({**OK, "extra": 1}, 400, "invalid_request"),
    ({k: v for k, v in OK.items() if k != "price"}, 400, "invalid_request"),
    ({**OK, "type": "market"}, 400, "invalid_request"),
    ({**OK, "type": "market", "price": None, "quantity": None}, 400, "invalid_request"),
    ({**OK, "type": "market", "price": None, "quote_quantity": "20"}, 400, "invalid_request"),
    (
        {**OK, "type": "market", "price": None, "quantity": None, "quote_quantity": "0.5"},
        400,
        "below_min_notional",
    ),
    (
        {**OK, "type": "market", "side": "sell", "price": None, "quote_quantity": "5"},
        400,
        "invalid_request",
    ),
    ({}, 400, "invalid_request"),
    ([], 400, "invalid_request"),
    ([OK], 400, "invalid_request"),
    ("order", 400, "invalid_request"),
    (7, 400, "invalid_request"),
    (None, 400, "invalid_request"),
]


@pytest.fixture
def api(alice, markets):
    return Api.for_user(alice)


@pytest.mark.parametrize(("body", "status", "code"), BODIES, ids=lambda v: repr(v)[:40])
def test_order_is_refused_with_a_stable_code_when_the_body_is_bad(api, body, status, code):
    raw = json.dumps(body).encode()
    resp = api.request("POST", "/api/v1/order", raw=raw)
    assert resp.status_code == status, resp.content
    assert resp.json()["error"]["code"] == code


RAW = [
    # (raw body, content type, status, code)
    (b"{", "application/json", 400, "invalid_json"),
    (b'{"price": NaN}', "application/json", 400, "invalid_json"),
    (b'{"price": Infinity}', "application/json", 400, "invalid_json"),
    (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
    (b"[" * 100_000, "application/json", 400, "invalid_json"),
    (b'{"a": ' + b"1" * 5000 + b"}", "application/json", 400, "invalid_json"),
    (b"", "application/json", 400, "invalid_request"),
    (b"symbol=SOL_USDC", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"<xml/>", "text/xml", 415, "unsupported_media_type"),
    (b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}', "application/json", 413, "payload_too_large"),
]


@pytest.mark.parametrize(("raw", "content_type", "status", "code"), RAW, ids=lambda v: repr(v)[:30])
def test_order_is_refused_when_the_body_is_not_parseable_json(api, raw, content_type, status, code):
    resp = api.request("POST", "/api/v1/order", raw=raw, content_type=content_type)
    assert resp.status_code == status, resp.content[:200]
    assert resp.json()["error"]["code"] == code


def test_oversized_body_is_refused_with_413_when_sent_with_a_session(client, alice, markets):
    client.force_login(alice)
    raw = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    resp = client.post("/api/v1/order", raw, content_type="application/json")
    assert resp.status_code == 413


QUERIES = [
    ("GET", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": "abc"}),
    ("GET", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": "-1"}),
    ("GET", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": "9" * 30}),
    ("GET", "/api/v1/order", {"symbol": "SOL_USDC"}),
    ("GET", "/api/v1/order", {"order_id": "1"}),
    ("GET", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": "1", "client_order_id": "a"}),
    ("GET", "/api/v1/order", {"symbol": "☃", "order_id": "1"}),
    ("DELETE", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": "1.5"}),
    ("DELETE", "/api/v1/order", {"symbol": "SOL_USDC", "client_order_id": "a b"}),
    ("GET", "/api/v1/orders", {"symbol": "x"}),
    ("DELETE", "/api/v1/orders", {"symbol": "../etc"}),
    ("GET", "/api/v1/user/orders", {"status": "open"}),
    ("GET", "/api/v1/user/orders", {"start_time": "yesterday"}),
    ("GET", "/api/v1/user/orders", {"end_time": "-1"}),
    ("GET", "/api/v1/user/orders", {"limit": "0"}),
    ("GET", "/api/v1/user/orders", {"limit": "100000"}),
    ("GET", "/api/v1/user/trades", {"start_time": "1e3"}),
    ("GET", "/api/v1/user/trades", {"cursor": "abc"}),
]


@pytest.mark.parametrize(("method", "path", "params"), QUERIES, ids=lambda v: repr(v)[:40])
def test_query_is_refused_with_400_when_a_parameter_is_bad(api, method, path, params):
    resp = api.request(method, path, params=params)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] in {"invalid_request", "invalid_cursor"}


def test_cancel_is_refused_with_unknown_market_when_the_symbol_is_not_listed(api):
    resp = api.delete("/api/v1/order", symbol="NOPE_USDC", order_id=1)
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "unknown_market")
