"""Messages storage built on first use only (exchange_site.middleware)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from exchange_site.middleware import LazyMessageMiddleware


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
