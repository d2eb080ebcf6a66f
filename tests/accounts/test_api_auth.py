"""Signed API-key authentication and permissions (docs/api.md, "Authentication")."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from tests.api import Api
from tests.support.signing import signature

pytestmark = [pytest.mark.usefixtures("api_env"), pytest.mark.sqlite]

WHO = "/api/v1/account"


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def api(alice):
    return Api.for_user(alice, "read", "trade")


def code(resp):
    return resp.json()["error"]["code"]


def test_request_is_answered_when_signed_correctly(api):
    resp = api.get(WHO)
    assert resp.status_code == 200
    assert resp.json() == {
        "user_id": api.user.pk,
        "username": "alice",
        "permissions": ["read", "trade"],
    }


def test_request_is_refused_with_authentication_required_when_no_credentials(db):
    resp = Client().get(WHO)
    assert resp.status_code == 401
    assert code(resp) == "authentication_required"
    assert resp["WWW-Authenticate"].startswith("X-API-KEY")


def test_request_is_refused_with_invalid_api_key_when_the_key_is_unknown(api):
    resp = api.request("GET", WHO, headers={"X-API-KEY": "f" * 32})
    assert (resp.status_code, code(resp)) == (401, "invalid_api_key")


def test_request_is_refused_with_api_key_revoked_when_the_key_was_revoked(api):
    assert api.get(WHO).status_code == 200
    api_key_revoke(api.api_key)
    resp = api.get(WHO)
    assert (resp.status_code, code(resp)) == (401, "api_key_revoked")


def test_request_is_refused_with_invalid_signature_when_signed_with_another_secret(api):
    resp = api.request("GET", WHO, secret="0" * 64)
    assert (resp.status_code, code(resp)) == (401, "invalid_signature")


def test_request_is_refused_with_invalid_signature_when_the_signature_is_missing(api):
    resp = api.request("GET", WHO, headers={"X-SIGNATURE": ""})
    assert (resp.status_code, code(resp)) == (401, "invalid_signature")


@pytest.mark.parametrize("timestamp", ["", "abc", "1.5", "-5", "1e12", "٣٣٣", "9" * 40])
def test_request_is_refused_with_invalid_timestamp_when_not_integer_ms(api, timestamp):
    sig = signature(api.secret, timestamp, "GET", WHO, b"")
    resp = api.request("GET", WHO, headers={"X-TIMESTAMP": timestamp, "X-SIGNATURE": sig})
    assert (resp.status_code, code(resp)) == (401, "invalid_timestamp")


@pytest.mark.parametrize("offset_ms", [-5_000 - 1_000, 5_000 + 1_000, -3_600_000])
def test_request_is_refused_when_the_timestamp_is_outside_the_window(api, settings, offset_ms):
    settings.API_SIGNATURE_WINDOW_MS = 5_000
    resp = api.request("GET", WHO, timestamp_ms=now_ms() + offset_ms)
    assert (resp.status_code, code(resp)) == (401, "timestamp_out_of_window")


@pytest.mark.parametrize("offset_ms", [-4_000, 0, 4_000])
def test_request_is_accepted_when_the_timestamp_is_inside_the_window(api, settings, offset_ms):
    settings.API_SIGNATURE_WINDOW_MS = 5_000
    assert api.request("GET", WHO, timestamp_ms=now_ms() + offset_ms).status_code == 200


def test_signature_covers_the_query_string_when_one_is_sent(api):
    # given a signature computed for the path without its query
    ts = str(now_ms())
    sig = signature(api.secret, ts, "GET", "/api/v1/orders", b"")
    # when the request is sent with a query
    resp = api.client.get(
        "/api/v1/orders?symbol=SOL_USDC",
        headers={"X-API-KEY": api.api_key.key_id, "X-TIMESTAMP": ts, "X-SIGNATURE": sig},
    )
    # then it does not verify
    assert (resp.status_code, code(resp)) == (401, "invalid_signature")


def test_signature_covers_the_body_when_one_is_sent(api):
    ts = str(now_ms())
    signed_body = b'{"asset": "USDC", "amount": "1"}'
    sent_body = b'{"asset": "USDC", "amount": "1000000"}'
    sig = signature(api.secret, ts, "POST", "/api/v1/user/deposit", signed_body)
    resp = api.client.post(
        "/api/v1/user/deposit",
        sent_body,
        content_type="application/json",
        headers={"X-API-KEY": api.api_key.key_id, "X-TIMESTAMP": ts, "X-SIGNATURE": sig},
    )
    assert (resp.status_code, code(resp)) == (401, "invalid_signature")


def test_signature_covers_the_method_when_another_is_used(api):
    ts = str(now_ms())
    sig = signature(api.secret, ts, "GET", "/api/v1/orders", b"")
    resp = api.client.delete(
        "/api/v1/orders",
        headers={"X-API-KEY": api.api_key.key_id, "X-TIMESTAMP": ts, "X-SIGNATURE": sig},
    )
    assert (resp.status_code, code(resp)) == (401, "invalid_signature")


@pytest.mark.parametrize(
    ("permissions", "method", "path", "body"),
    [
        (("trade",), "GET", "/api/v1/user/balances", None),
        (("read",), "POST", "/api/v1/user/deposit", {"asset": "USDC", "amount": "1"}),
        (("read", "trade"), "POST", "/api/v1/user/withdraw", {"asset": "USDC", "amount": "1"}),
        (("read",), "POST", "/api/v1/order", {"symbol": "SOL_USDC"}),
        (("read",), "DELETE", "/api/v1/orders", None),
    ],
)
def test_request_is_refused_with_missing_permission_when_the_key_lacks_it(
    alice, permissions, method, path, body
):
    api = Api.for_user(alice, *permissions)
    resp = api.request(method, path, body)
    assert (resp.status_code, code(resp)) == (403, "missing_permission")


def test_session_has_every_permission_when_logged_in(client, alice):
    client.force_login(alice)
    resp = client.get(WHO)
    assert resp.json()["permissions"] == ["read", "trade", "withdraw"]


def test_session_write_is_refused_when_the_csrf_token_is_missing(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    resp = browser.post("/api/v1/orders", {}, content_type="application/json")
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["error"]["message"]


def test_last_used_is_written_at_most_once_a_minute_when_a_key_is_used(
    api, django_assert_num_queries
):
    # given a key used just now
    api.get(WHO)
    first = ApiKey.objects.get(pk=api.api_key.pk).last_used_at
    assert first is not None
    # when it is used again within the minute: no query at all (the key is cached), no write
    with django_assert_num_queries(0):
        api.get(WHO)
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at == first
    # and once the minute has passed, it is written again
    later = timezone.now() + timedelta(minutes=2)
    with mock.patch("accounts.authentication.timezone.now", return_value=later):
        api.get(WHO)
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at == later


def test_request_is_refused_with_invalid_api_key_when_the_user_was_deactivated(api):
    # given a key this process has cached
    assert api.get(WHO).status_code == 200
    # when its user is deactivated (the admin saves the user)
    user = api.api_key.user
    user.is_active = False
    user.save()
    # then the very next request is refused
    resp = api.get(WHO)
    assert (resp.status_code, code(resp)) == (401, "invalid_api_key")


def test_key_is_read_from_the_database_when_the_markers_cannot_be_read(
    api, settings, django_assert_num_queries
):
    assert api.get(WHO).status_code == 200  # cached
    settings.CACHE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with django_assert_num_queries(1):  # the key, from the database
        assert api.get(WHO).status_code == 200


def test_key_is_read_on_every_request_when_the_cache_ttl_is_zero(
    api, settings, django_assert_num_queries
):
    settings.API_KEY_CACHE_TTL_S = 0
    api.get(WHO)
    with django_assert_num_queries(1):
        api.get(WHO)
