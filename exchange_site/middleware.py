"""Middleware of our own.

Browser middleware (sessions, CSRF, the authenticated user, messages, clickjacking) is of no
use to a signed API-key request: ApiKeyAuthentication alone decides who it is
(accounts/authentication.py; a request carrying ``X-API-KEY`` is never authenticated by a
session), it is CSRF-exempt as every DRF view is, it reads no messages and it renders no page
to frame. Those five cost about 6 % of a trivial signed request's CPU in the web process
(docs/performance.md, "Session 7"), so each of them steps aside for a signed request under
``/api/v1/`` (that saves about 4 %: the pass-through layers remain). Every other request, the
web UI's and the admin's, goes through all of them as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.functional import SimpleLazyObject, empty

from common import errors

API_PREFIX = "/api/v1/"


BINANCE_PREFIX = "/api/v3/"  # the Binance-compatible surface (binance_compat/)


def is_signed_api_request(request: HttpRequest) -> bool:
    """An API-key request to the versioned API (or to the Binance-compatible one, with its
    header): the only kind the browser middleware skips."""
    meta = request.META
    if "HTTP_X_API_KEY" in meta:
        return request.path_info.startswith(API_PREFIX)
    return "HTTP_X_MBX_APIKEY" in meta and request.path_info.startswith(BINANCE_PREFIX)


class BrowserOnly:
    """Mixed into a ``MiddlewareMixin`` middleware: a signed API request passes it untouched.

    In both modes ``get_response`` is what the next layer would have been called with; under
    ASGI it returns the awaitable the handler awaits.
    """

    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        if is_signed_api_request(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class BrowserSessionMiddleware(BrowserOnly, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(BrowserOnly, CsrfViewMiddleware):
    # The handler calls process_view itself, outside __call__.
    def process_view(
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseForbidden | None:
        if is_signed_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(BrowserOnly, AuthenticationMiddleware):
    pass


class LazyMessageMiddleware(BrowserOnly, MessageMiddleware):
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


class BrowserXFrameOptionsMiddleware(BrowserOnly, XFrameOptionsMiddleware):
    pass


class ApiServerErrors:
    """Outermost: an unhandled exception under /api/ answers the API's JSON 500 with a request
    id (``errors.internal_error``) and its traceback is logged with that id, DEBUG on or off.

    A view's exception arrives in ``process_exception``. One raised in a middleware has already
    been turned into Django's 500 (the HTML debug page under DEBUG) by the time it gets here,
    and logged by ``errors.log_request_exception``: an HTML answer is replaced.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 500
            and request.path_info.startswith(errors.API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return errors.internal_error(request)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path_info.startswith(errors.API_PREFIX):
            return None  # pages keep Django's handling (handler500, the debug page)
        errors.log_unhandled(request, exc)
        return errors.internal_error(request)


# Headers whose values reach the database (an API key id is looked up by value).
_CHECKED_HEADERS = ("HTTP_X_API_KEY", "HTTP_X_TIMESTAMP", "HTTP_X_SIGNATURE", "HTTP_X_MBX_APIKEY")


class RefuseNulCharacters:
    """A NUL character in an API request's path, query string or signature headers is a 400.

    PostgreSQL text cannot hold NUL: any such value that reached a query made it fail (a 500).
    Refusing them at the edge covers every parameter of every endpoint, present and future;
    body fields are checked by their serializers (DRF's CharField refuses NUL too).
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if request.path_info.startswith("/api/"):
            where = _nul_in(request)
            if where is not None and request.path_info.startswith(BINANCE_PREFIX):
                return JsonResponse(  # Binance's body on its surface (binance_compat/errors.py)
                    {"code": -1100, "msg": "Illegal characters found in a parameter."}, status=400
                )
            if where is not None:
                return JsonResponse(
                    errors.error_body(
                        "invalid_request",
                        f"NUL characters are not accepted ({where}).",
                        {"where": where},
                    ),
                    status=400,
                )
        return self.get_response(request)


def _nul_in(request: HttpRequest) -> str | None:
    if "\x00" in request.path_info:
        return "path"
    if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get(
        "QUERY_STRING", ""
    ):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return f"query parameter {key[:32]!r}"
    for header in _CHECKED_HEADERS:
        if "\x00" in request.META.get(header, ""):
            return f"header {header[5:].replace('_', '-')}"
    return None
