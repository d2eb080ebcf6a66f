"""One error type for the domain and one JSON shape for every API error.

Every error under /api/ renders as ``{"error": {"code", "message", "details"}}``: ``code`` is a
stable lower_snake string clients can switch on, ``message`` is for humans, ``details`` is
structured (field errors, limits) or null.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

API_PREFIX = "/api/"
log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal a service decides on purpose; subclasses fix the status and default code."""

    status: int = 400
    code: str = "bad_request"
    default_message: str = "The request was refused."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.details = details
        # Seconds after which the same request may succeed: a Retry-After header, and
        # ``details.retry_after`` as for a 429.
        self.retry_after = retry_after
        super().__init__(self.message)


class Unauthenticated(DomainError):
    """The request's credentials no longer hold (an API key revoked while a process had it
    cached, found when its order write was sent): 401 with the view's WWW-Authenticate
    challenge, as DRF answers its own AuthenticationFailed."""

    status = 401
    code = "authentication_failed"
    default_message = "Incorrect authentication credentials."


class RateLimited(DomainError):
    """Past a rate limit counted outside DRF's throttle classes (order writes, counted by
    their command's submit): the same 429 ``throttled`` body and Retry-After as DRF's
    ``Throttled``."""

    status = 429
    code = "throttled"

    def __init__(self, wait_s: float) -> None:
        seconds = math.ceil(wait_s)
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(
            f"Request was throttled. Expected available in {seconds} {unit}.",
            retry_after=seconds,
        )


class ValidationFailed(DomainError):
    status = 400
    code = "invalid_request"
    default_message = "The request is invalid."


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    default_message = "You may not do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    default_message = "The service is temporarily unavailable."


class PayloadTooLarge(drf.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class ServiceUnavailable(drf.APIException):
    status_code = 503
    default_detail = "A backing service is unavailable; retry shortly."
    default_code = "unavailable"


_OUTAGES = (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)

# DRF's codes where ours are more telling; the rest of DRF's lower_snake codes are kept.
_RENAMED = {
    "not_authenticated": "authentication_required",
    "parse_error": "invalid_json",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error becomes our shape; others stay 500s."""
    # Imported here: rest_framework.views loads the authentication classes named in settings,
    # which import this module (a cycle at import time otherwise).
    from rest_framework.views import set_rollback

    if isinstance(exc, DomainError):
        set_rollback()
        shown, headers = exc.details, {}
        if exc.retry_after is not None:
            shown = {**(shown or {}), "retry_after": exc.retry_after}
            headers["Retry-After"] = str(exc.retry_after)
        view, request = context.get("view"), context.get("request")
        if exc.status == 401 and view is not None and request is not None:
            # The challenge DRF gives its own 401s: the view's first authenticator's.
            if challenge := view.get_authenticate_header(request):
                headers["WWW-Authenticate"] = challenge
        return Response(
            error_body(exc.code, exc.message, shown), status=exc.status, headers=headers or None
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django's own body limit (request.body)
        exc = PayloadTooLarge()
    elif isinstance(exc, _OUTAGES):  # Redis or the database is down: retry, not a bug
        log.warning("backing service unavailable: %r", exc)
        exc = ServiceUnavailable()
    if not isinstance(exc, drf.APIException):
        return None

    headers = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    details: Any = None
    wait = getattr(exc, "wait", None)  # Throttled's seconds to wait (not in the type stubs)
    if isinstance(exc, drf.Throttled) and wait is not None:
        seconds = math.ceil(wait)
        headers["Retry-After"] = str(seconds)
        details = {"retry_after": seconds}

    if isinstance(exc, drf.ValidationError):
        code, message, details = "invalid_request", "The request is invalid.", exc.detail
    else:
        # DRF's default codes are stable lower_snake ("not_authenticated", "throttled", ...), and
        # a view may raise e.g. AuthenticationFailed("...", code="stale_timestamp") to refine one.
        code = getattr(exc.detail, "code", None) or exc.default_code
        code = _RENAMED.get(code, code)
        message = str(exc.detail)
    set_rollback()
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


# --- Plain Django handlers: the same shape for errors outside DRF views under /api/ --------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Catch-all route for unknown /api/ paths (also in DEBUG, where handler404 is bypassed)."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", "You may not do this."), status=403)
    return defaults.permission_denied(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return internal_error(request)
    return defaults.server_error(request)


# A proxy's request id is kept if it looks like one; anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id(request: HttpRequest) -> str:
    """The id that ties a 500's answer to its logged traceback: the caller's ``X-Request-ID``
    when it is a plausible id, else a new one (made only on this error path)."""
    found = getattr(request, "request_id", None)
    if found is None:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        found = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = found  # type: ignore[attr-defined]
    return str(found)


def internal_error(request: HttpRequest) -> JsonResponse:
    """The API's 500: JSON with the request id, never Django's HTML page (DEBUG or not)."""
    rid = request_id(request)
    body = error_body(
        "internal_error",
        f"Internal error; it has been logged with request id {rid}.",
        {"request_id": rid},
    )
    response = JsonResponse(body, status=500)
    response["X-Request-ID"] = rid
    return response


def log_request_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``got_request_exception``: Django turned an exception from outside a view (a
    middleware) into a 500; under /api/ log it with the id its JSON answer will carry."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and _is_api(request):
        log_unhandled(request, exc)


def log_unhandled(request: HttpRequest, exc: BaseException) -> None:
    log.error(
        "unhandled %s on %s %s (request_id %s)",
        type(exc).__name__,
        request.method,
        request.path,
        request_id(request),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
