"""Every error under /api/ has one shape: {"error": {"code", "message", "details"}}."""

import json

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404
from django.test import Client, RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework import exceptions as drf
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from common import errors

Case = tuple[Exception, int, str]

DOMAIN: list[Case] = [
    (errors.ValidationFailed(details={"price": "off tick"}), 400, "invalid_request"),
    (errors.NotFound(), 404, "not_found"),
    (errors.PermissionDenied(), 403, "permission_denied"),
    (errors.Conflict(code="duplicate_client_order_id"), 409, "duplicate_client_order_id"),
    (errors.Unavailable(), 503, "unavailable"),
    (errors.Unauthenticated(code="api_key_revoked"), 401, "api_key_revoked"),
    (errors.RateLimited(3), 429, "throttled"),
]
FRAMEWORK: list[Case] = [
    (drf.ValidationError({"price": ["Bad."]}), 400, "invalid_request"),
    (drf.ParseError(), 400, "invalid_json"),
    (drf.NotAuthenticated(), 401, "authentication_required"),
    (drf.AuthenticationFailed("Too old.", code="stale_timestamp"), 401, "stale_timestamp"),
    (drf.AuthenticationFailed(), 401, "authentication_failed"),
    (drf.PermissionDenied(), 403, "permission_denied"),
    (drf.NotFound(), 404, "not_found"),
    (drf.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
    (drf.Throttled(wait=3), 429, "throttled"),
    (Http404("No Order matches the given query."), 404, "not_found"),
    (DjangoPermissionDenied(), 403, "permission_denied"),
    (RedisConnectionError("down"), 503, "unavailable"),
    (OperationalError("server closed the connection"), 503, "unavailable"),
]


def render(exc: Exception) -> Response:
    response = errors.exception_handler(exc, {})
    assert response is not None
    return response


@pytest.mark.parametrize(("exc", "status", "code"), DOMAIN + FRAMEWORK)
def test_error_is_rendered_in_one_shape_when_raised(exc, status, code):
    response = render(exc)
    assert response.status_code == status
    assert set(response.data) == {"error"}
    assert set(response.data["error"]) == {"code", "message", "details"}
    assert response.data["error"]["code"] == code
    assert isinstance(response.data["error"]["message"], str)


def test_validation_error_carries_field_details_when_raised():
    response = render(drf.ValidationError({"price": ["Bad."]}))
    assert response.data["error"]["details"] == {"price": ["Bad."]}


def test_throttled_says_when_to_retry_when_raised():
    response = render(drf.Throttled(wait=3))
    assert response["Retry-After"] == "3"
    assert response.data["error"]["details"] == {"retry_after": 3}


@pytest.mark.parametrize("wait", [0, 0.4, 1, 1.2, 59.9])
def test_rate_limited_answers_as_drfs_throttled_when_raised(wait):
    # order writes are counted outside DRF's throttle classes: the same 429 all the same
    ours, drfs = render(errors.RateLimited(wait)), render(drf.Throttled(wait=wait))
    assert ours.status_code == drfs.status_code == 429
    assert ours.data == drfs.data
    assert ours["Retry-After"] == drfs["Retry-After"]


class _ChallengedApi(APIView):
    """A view whose authenticator has a challenge, raising ``exc`` from its handler."""

    permission_classes = [AllowAny]
    exc: Exception = errors.Unauthenticated()

    def get_authenticate_header(self, request):
        return 'X-API-KEY realm="api"'

    def get(self, request):
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [
        errors.Unauthenticated("This API key was revoked.", code="api_key_revoked"),
        drf.AuthenticationFailed("This API key was revoked.", code="api_key_revoked"),
    ],
)
def test_a_401_carries_the_views_challenge_when_a_view_raises_it(db, exc):
    view = _ChallengedApi.as_view(exc=exc)
    response = view(APIRequestFactory().get("/api/v1/x"))
    response.render()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'X-API-KEY realm="api"'
    error = json.loads(response.content)["error"]
    assert (error["code"], error["message"]) == ("api_key_revoked", "This API key was revoked.")
    assert error["details"] is None


def test_unknown_exception_is_left_to_the_500_handler_when_raised():
    assert errors.exception_handler(RuntimeError("bug"), {}) is None


class RefusingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise errors.Conflict("Already done.", code="already_done", details={"id": 7})


def test_domain_error_reaches_the_client_when_a_view_raises_it(db):
    response = RefusingApi.as_view()(APIRequestFactory().get("/api/v1/x"))
    response.render()
    assert response.status_code == 409
    assert json.loads(response.content) == {
        "error": {"code": "already_done", "message": "Already done.", "details": {"id": 7}}
    }


def test_unknown_api_path_answers_json_404_when_requested(client, db):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("handler", "args", "status", "code"),
    [
        (errors.page_not_found, (Http404(),), 404, "not_found"),
        (errors.permission_denied, (DjangoPermissionDenied(),), 403, "permission_denied"),
        (errors.bad_request, (ValueError(),), 400, "bad_request"),
        (errors.server_error, (), 500, "internal_error"),
    ],
)
def test_django_handlers_answer_json_when_the_path_is_under_api(handler, args, status, code):
    response = handler(RequestFactory().get("/api/v1/orders"), *args)
    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code


def test_django_handlers_answer_html_when_the_path_is_a_page(db):
    response = errors.page_not_found(RequestFactory().get("/nowhere"), Http404())
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


class _Broken:
    """A middleware that fails on one path: a 500 raised outside any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in ("/api/v1/markets", "/"):
            raise RuntimeError("middleware bug")
        return self.get_response(request)


def _assert_json_500(resp, caplog):
    assert resp.status_code == 500
    assert resp["Content-Type"] == "application/json"
    body = resp.json()["error"]
    assert body["code"] == "internal_error"
    rid = body["details"]["request_id"]
    assert rid and rid in body["message"] and resp["X-Request-ID"] == rid
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert logged, "the request id is in the log"
    return rid, logged


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_an_unhandled_view_error_answers_json_500_and_logs_it_when_under_api(
    debug, db, settings, monkeypatch, caplog
):
    # given a view that fails unexpectedly, with DEBUG on (the HTML debug page) or off
    settings.DEBUG = debug
    from trading import selectors

    def broken():
        raise RuntimeError("selector bug")

    monkeypatch.setattr(selectors, "market_list", broken)

    # when an API client calls it
    resp = Client(raise_request_exception=False).get("/api/v1/markets")

    # then the answer is the API's JSON 500, and the traceback is logged with its request id
    _, logged = _assert_json_500(resp, caplog)
    assert any(r.exc_info and "selector bug" in str(r.exc_info[1]) for r in logged)


def test_a_500_keeps_the_proxys_request_id_when_it_sent_one(db, monkeypatch, caplog):
    from trading import selectors

    monkeypatch.setattr(selectors, "market_list", lambda: 1 / 0)
    resp = Client(raise_request_exception=False).get(
        "/api/v1/markets", HTTP_X_REQUEST_ID="edge-7f3a9c21"
    )
    rid, _ = _assert_json_500(resp, caplog)
    assert rid == "edge-7f3a9c21"


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_an_error_in_a_middleware_answers_json_500_when_under_api(debug, db, settings, caplog):
    settings.DEBUG = debug
    settings.MIDDLEWARE = [
        settings.MIDDLEWARE[0],
        "tests.common.test_errors._Broken",
        *settings.MIDDLEWARE[1:],
    ]
    resp = Client(raise_request_exception=False).get("/api/v1/markets")
    _assert_json_500(resp, caplog)


def test_a_page_error_keeps_djangos_500_page_when_not_under_api(db, settings):
    settings.DEBUG = False
    settings.MIDDLEWARE = [settings.MIDDLEWARE[0], "tests.common.test_errors._Broken"]
    resp = Client(raise_request_exception=False).get("/")
    assert resp.status_code == 500
    assert not resp["Content-Type"].startswith("application/json")
