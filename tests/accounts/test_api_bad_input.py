"""Malformed sign-up, API-key, deposit and withdraw requests: 4xx with a stable code, never 500
(no pipeline: nothing here may reach the matcher)."""

import json

import pytest
from django.test import Client

from tests.api import Api

pytestmark = pytest.mark.usefixtures("api_env")

DEPOSIT = {"asset": "USDC", "amount": "1"}
WITHDRAW = {"asset": "USDC", "amount": "1", "address": "addr-1"}

SIGNED = [
    # (path, body, status, code)
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": 1}, 400, "invalid_request"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "NaN"}, 400, "invalid_amount"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "1e400"}, 400, "invalid_amount"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "0.0000001"}, 400, "invalid_amount"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "-5"}, 400, "invalid_amount"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "0"}, 400, "invalid_amount"),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": "1" * 41}, 400, "invalid_request"),
    (
        "/api/v1/user/deposit",
        {**DEPOSIT, "amount": "100000000000000000000000"},
        400,
        "invalid_amount",
    ),
    ("/api/v1/user/deposit", {**DEPOSIT, "amount": {"a": 1}}, 400, "invalid_request"),
    ("/api/v1/user/deposit", {**DEPOSIT, "asset": "DOGE"}, 400, "unknown_asset"),
    ("/api/v1/user/deposit", {**DEPOSIT, "asset": "ÜSDC"}, 400, "unknown_asset"),
    ("/api/v1/user/deposit", {**DEPOSIT, "asset": ["USDC"]}, 400, "invalid_request"),
    ("/api/v1/user/deposit", {"asset": "USDC"}, 400, "invalid_request"),
    ("/api/v1/user/deposit", [DEPOSIT], 400, "invalid_request"),
    ("/api/v1/user/deposit", "USDC", 400, "invalid_request"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "address": ""}, 400, "invalid_request"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "address": "a b"}, 400, "invalid_address"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "address": "x" * 129}, 400, "invalid_request"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "address": "ад"}, 400, "invalid_address"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "amount": "0.0000001"}, 400, "invalid_amount"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "amount": 1.0}, 400, "invalid_request"),
    ("/api/v1/user/withdraw", {**WITHDRAW, "asset": "NOPE"}, 400, "unknown_asset"),
    ("/api/v1/user/withdraw", None, 400, "invalid_request"),
]


@pytest.fixture
def api(alice, assets):
    return Api.for_user(alice, "read", "trade", "withdraw")


@pytest.mark.parametrize(("path", "body", "status", "code"), SIGNED, ids=lambda v: repr(v)[:40])
def test_transfer_is_refused_with_a_stable_code_when_the_body_is_bad(api, path, body, status, code):
    resp = api.request("POST", path, raw=json.dumps(body).encode())
    assert resp.status_code == status, resp.content
    assert resp.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{", 400, "invalid_json"),
        (b'{"amount": NaN}', 400, "invalid_json"),
        (b"", 400, "invalid_request"),
    ],
)
def test_transfer_is_refused_when_the_body_is_not_json(api, raw, status, code):
    resp = api.request("POST", "/api/v1/user/deposit", raw=raw)
    assert (resp.status_code, resp.json()["error"]["code"]) == (status, code)


SIGNUPS = [
    ({"username": "x", "password": "a-long-pass-phrase-9"}, "invalid_request"),
    (
        {"username": "x y", "password": "a-long-pass-phrase-9", "email": "x@e.com"},
        "invalid_request",
    ),
    (
        {"username": "x" * 151, "password": "a-long-pass-phrase-9", "email": "x@e.com"},
        "invalid_request",
    ),
    (
        {"username": "dora", "password": "a-long-pass-phrase-9", "email": "not-an-email"},
        "invalid_request",
    ),
    ({"username": "dora", "password": "p" * 129, "email": "d@e.com"}, "invalid_request"),
    (
        {"username": {"a": 1}, "password": "a-long-pass-phrase-9", "email": "d@e.com"},
        "invalid_request",
    ),
    ({"username": "dora", "password": "dora", "email": "d@e.com"}, "invalid_request"),
    ([], "invalid_request"),
    ("dora", "invalid_request"),
]


@pytest.mark.parametrize(("body", "code"), SIGNUPS, ids=lambda v: repr(v)[:40])
def test_signup_is_refused_with_400_when_the_body_is_bad(db, body, code):
    resp = Client().post("/api/v1/users", json.dumps(body), content_type="application/json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == code


def test_signup_is_refused_with_415_when_sent_as_a_form(db):
    resp = Client().post("/api/v1/users", {"username": "dora"})
    assert resp.status_code == 415
