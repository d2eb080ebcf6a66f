"""The order types of issue 19 over the API without a matcher: every malformed stop,
take-profit, trailing, iceberg, GTD, OCO or amend request gets a 4xx with a stable code before
anything reaches the matcher (a request that got through would answer 202, not 4xx)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.api import Api

pytestmark = pytest.mark.usefixtures("api_env")

FUTURE_MS = int(time.time() * 1000) + 3_600_000
STOP = {
    "symbol": "SOL_USDC", "side": "sell", "type": "stop_limit", "price": "139.5",
    "quantity": "1", "stop_price": "140",
}  # fmt: skip
LIMIT = {"symbol": "SOL_USDC", "side": "buy", "type": "limit", "price": "10", "quantity": "1"}
TP_MARKET = {**STOP, "type": "take_profit_market", "price": None}

ORDERS = [
    # (body, code, details.field or None)
    ({**STOP, "stop_price": "140.001"}, "price_off_tick", "stop_price"),
    ({**STOP, "stop_price": 140}, "invalid_number", "stop_price"),
    ({**STOP, "stop_price": "0"}, "non_positive", "stop_price"),
    ({**STOP, "stop_price": None}, "invalid_request", None),  # a stop needs its trigger
    ({**STOP, "trailing_delta": 100}, "invalid_request", None),  # not both
    ({**STOP, "stop_price": None, "trailing_delta": 9}, "invalid_request", "trailing_delta"),
    ({**STOP, "stop_price": None, "trailing_delta": 2001}, "invalid_request", "trailing_delta"),
    ({**STOP, "stop_price": None, "trailing_delta": "100"}, "invalid_request", "trailing_delta"),
    ({**STOP, "stop_price": None, "trailing_delta": 10.5}, "invalid_request", "trailing_delta"),
    ({**STOP, "stop_price": None, "trailing_delta": True}, "invalid_request", "trailing_delta"),
    (
        {**STOP, "type": "take_profit_limit", "stop_price": None, "trailing_delta": 100},
        "invalid_request",
        None,
    ),
    ({**STOP, "price": None}, "invalid_request", None),  # a stop_limit needs its price
    ({**TP_MARKET, "price": "139"}, "invalid_request", None),  # a market variant has none
    ({**TP_MARKET, "time_in_force": "IOC"}, "invalid_request", None),
    ({**STOP, "post_only": True}, "invalid_request", None),
    ({**LIMIT, "stop_price": "5"}, "invalid_request", None),
    ({**LIMIT, "trailing_delta": 100}, "invalid_request", None),
    ({**LIMIT, "iceberg_quantity": "1"}, "invalid_request", "iceberg_quantity"),  # not < qty
    ({**LIMIT, "iceberg_quantity": "0.001"}, "quantity_off_lot", "iceberg_quantity"),
    ({**LIMIT, "iceberg_quantity": "0.5", "time_in_force": "IOC"}, "invalid_request", None),
    ({**TP_MARKET, "iceberg_quantity": "0.5"}, "invalid_request", None),
    ({**LIMIT, "time_in_force": "GTD"}, "invalid_expire_time", "expire_time"),
    ({**LIMIT, "expire_time": FUTURE_MS}, "invalid_expire_time", "expire_time"),
    (
        {**LIMIT, "time_in_force": "GTD", "expire_time": 1_000},
        "invalid_expire_time",
        "expire_time",
    ),
    (
        {**LIMIT, "time_in_force": "GTD", "expire_time": str(FUTURE_MS)},
        "invalid_expire_time",
        "expire_time",
    ),
    (
        {**LIMIT, "time_in_force": "GTD", "expire_time": 2**70},
        "invalid_expire_time",
        "expire_time",
    ),
    (
        {
            **LIMIT,
            "type": "market",
            "price": None,
            "time_in_force": "GTD",
            "expire_time": FUTURE_MS,
        },
        "invalid_request",
        None,
    ),
    ({**STOP, "type": "stop_loss"}, "invalid_request", "type"),
]


@pytest.fixture
def api(alice, markets):
    return Api.for_user(alice)


def _send(api: Api, method: str, path: str, body: Any) -> Any:
    return api.request(method, path, raw=json.dumps(body).encode())


@pytest.mark.parametrize(("body", "code", "field"), ORDERS, ids=lambda v: repr(v)[:60])
def test_a_new_order_type_is_refused_with_a_stable_code_when_its_fields_are_bad(
    api, body, code, field
):
    resp = _send(api, "POST", "/api/v1/order", {k: v for k, v in body.items() if v is not None})
    assert resp.status_code == 400, resp.content
    error = resp.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["details"]["field"] == field


OCO = {
    "symbol": "SOL_USDC", "side": "sell", "quantity": "1", "price": "160", "stop_price": "140",
}  # fmt: skip

OCOS = [
    ({**OCO, "price": "130"}, "invalid_request", "stop_price"),  # a sell's limit above its stop
    ({**OCO, "side": "buy"}, "invalid_request", "stop_price"),  # a buy's below
    ({**OCO, "stop_price": "140.001"}, "price_off_tick", "stop_price"),
    ({**OCO, "stop_limit_price": "139.999"}, "price_off_tick", "stop_limit_price"),
    ({**OCO, "quantity": "1.001"}, "quantity_off_lot", "quantity"),
    ({**OCO, "quantity": 1}, "invalid_number", "quantity"),
    ({**OCO, "price": None}, "invalid_request", "price"),
    ({**OCO, "stop_price": None}, "invalid_request", "stop_price"),
    (
        {**OCO, "stop_limit_price": "139", "stop_limit_time_in_force": "GTD"},
        "invalid_request",
        "stop_limit_time_in_force",
    ),
    ({**OCO, "stop_limit_time_in_force": "IOC"}, "invalid_request", "stop_limit_time_in_force"),
    ({**OCO, "client_list_id": "bad id!"}, "invalid_request", "client_list_id"),
    ({**OCO, "limit_client_order_id": 7}, "invalid_request", "limit_client_order_id"),
    ({**OCO, "type": "oco"}, "invalid_request", None),  # unknown field
    ({**OCO, "symbol": "NOPE_USDC"}, "unknown_market", "symbol"),
    (
        {**OCO, "price": "0.02", "quantity": "1000", "stop_price": "0.005"},
        "price_off_tick",
        "stop_price",
    ),
    ({**OCO, "quantity": "0.01", "price": "20", "stop_price": "10"}, "below_min_notional", None),
]


@pytest.mark.parametrize(("body", "code", "field"), OCOS, ids=lambda v: repr(v)[:60])
def test_an_oco_is_refused_with_a_stable_code_when_its_fields_are_bad(api, body, code, field):
    resp = _send(
        api, "POST", "/api/v1/order-list/oco", {k: v for k, v in body.items() if v is not None}
    )
    assert resp.status_code == 400, resp.content
    error = resp.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["details"]["field"] == field


AMENDS = [
    ({"symbol": "SOL_USDC", "order_id": 1}, "invalid_request"),  # neither price nor quantity
    ({"symbol": "SOL_USDC", "quantity": "1"}, "invalid_request"),  # no order
    (
        {"symbol": "SOL_USDC", "order_id": 1, "client_order_id": "x", "quantity": "1"},
        "invalid_request",
    ),
    ({"symbol": "SOL_USDC", "order_id": "1", "quantity": "1"}, "invalid_request"),
    ({"symbol": "SOL_USDC", "order_id": 1, "quantity": "1.001"}, "quantity_off_lot"),
    ({"symbol": "SOL_USDC", "order_id": 1, "price": "10.001"}, "price_off_tick"),
    ({"symbol": "SOL_USDC", "order_id": 1, "price": 10}, "invalid_number"),
    ({"symbol": "SOL_USDC", "order_id": 1, "quantity": "1", "side": "buy"}, "invalid_request"),
    ({"symbol": "NOPE_USDC", "order_id": 1, "quantity": "1"}, "unknown_market"),
    ([], "invalid_request"),
]


@pytest.mark.parametrize(("body", "code"), AMENDS, ids=lambda v: repr(v)[:60])
def test_an_amend_is_refused_with_a_stable_code_when_its_fields_are_bad(api, body, code):
    resp = _send(api, "PATCH", "/api/v1/order", body)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "SOL_USDC"},
        {"symbol": "SOL_USDC", "list_id": 1, "client_list_id": "x"},
        {"symbol": "SOL_USDC", "list_id": "x"},
        {"list_id": 1},
    ],
)
def test_a_list_lookup_is_refused_when_it_names_no_one_list(api, params):
    for method in ("GET", "DELETE"):
        resp = api.request(method, "/api/v1/order-list", params=params)
        assert resp.status_code == 400, resp.content
        assert resp.json()["error"]["code"] == "invalid_request"


def test_the_order_lists_of_a_user_are_an_empty_page_when_there_are_none(api):
    resp = api.get("/api/v1/user/order-lists")
    assert resp.status_code == 200, resp.content
    assert resp.json()["results"] == []


def test_an_amend_needs_the_trade_permission_when_sent_with_a_read_key(alice, markets):
    reader = Api.for_user(alice, "read")
    resp = _send(reader, "PATCH", "/api/v1/order", {"symbol": "SOL_USDC", "order_id": 1})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "missing_permission"
