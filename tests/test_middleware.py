"""exchange_site.middleware: messages storage built on first use only; browser middleware
skipped by signed API requests."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils.functional import empty

from exchange_site.middleware import LazyMessageMiddleware, is_signed_api_request
from tests.api import Api


def run(view):
    request = RequestFactory().get("/somewhere")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    response = LazyMessageMiddleware(view)(request)
    return request, response


def test_no_storage_is_built_when_the_view_uses_no_messages():
    request, response = run(lambda r: HttpResponse("ok"))
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_messages_are_stored_for_the_next_request_when_a_view_adds_one():
    def view(request):
        messages.success(request, "Saved.")
        return HttpResponse("ok")

    _, response = run(view)
    assert "messages" in response.cookies  # the cookie storage kept it for the next page
    assert "Saved." not in response.content.decode()


# --- Browser middleware steps aside for signed API requests only --------------------------------


@pytest.fixture
def signed(alice):
    return Api.for_user(alice, "read", "trade")


@pytest.mark.usefixtures("api_env")
def test_a_signed_api_request_skips_the_browser_middleware(signed):
    resp = signed.get("/api/v1/account")
    assert resp.status_code == 200
    assert "X-Frame-Options" not in resp.headers  # the clickjacking middleware did not run
    assert not resp.cookies  # nor did sessions or CSRF


@pytest.mark.usefixtures("api_env")
def test_an_unsigned_api_request_goes_through_the_browser_middleware(client, alice):
    client.force_login(alice)
    resp = client.get("/api/v1/account")
    assert resp.status_code == 200  # the session (SessionMiddleware) authenticated it
    assert resp.headers["X-Frame-Options"] == "DENY"


@pytest.mark.usefixtures("api_env")
def test_a_session_with_an_api_key_header_is_not_authenticated_by_the_session(alice):
    browser = Client()
    browser.force_login(alice)
    resp = browser.get("/api/v1/account", headers={"X-API-KEY": "f" * 32})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_a_page_with_an_api_key_header_still_gets_sessions_and_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    resp = browser.post("/admin/logout/", headers={"X-API-KEY": "f" * 32})
    assert resp.status_code == 403  # CSRF refused it: the middleware ran outside /api/v1/
    assert is_signed_api_request(RequestFactory().get("/admin/", HTTP_X_API_KEY="k")) is False
    assert is_signed_api_request(RequestFactory().get("/api/v1/x", HTTP_X_API_KEY="k")) is True
    assert is_signed_api_request(RequestFactory().get("/api/v1/x")) is False
