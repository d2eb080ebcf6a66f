"""Middleware of our own."""

from __future__ import annotations

from typing import Any

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with the storage built only when a view uses it.

    The stock middleware builds a cookie-and-session storage (and a cookie signer) on every
    request; API requests never use messages, and that was about 4 % of a trivial API
    request's CPU (py-spy, docs/performance.md). Pages and the admin see no difference.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> Any:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and getattr(messages, "_wrapped", None) is empty:
            return response  # never used: nothing to store
        return super().process_response(request, response)
