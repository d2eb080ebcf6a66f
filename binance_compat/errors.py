"""Binance's error bodies: ``{"code": -1121, "msg": "Invalid symbol."}``.

Everything the native API refuses, this surface refuses too, with the Binance code that fits
(Binance's errors.md): the services raise our ``DomainError`` codes and ``error_for`` turns
them into Binance's. HTTP statuses follow Binance: 400 for a malformed or refused request
(also where the native API says 404 or 409), 401 for API-key problems, 429 past a rate limit
(with ``Retry-After``), 503 when a backing service does not answer (execution status known:
nothing was done, or the command is queued). Bad input never gives a 5xx.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from common.errors import DomainError, log_unhandled
from pipeline.wire import OUTAGES as REDIS_OUTAGES

log = logging.getLogger(__name__)

# Binance's messages, word for word where clients match on them (ccxt maps several of these
# exact texts to its exception classes).
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
WOULD_TAKE = "Order would immediately match and take."
MARKET_CLOSED = "Market is closed."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
BAD_KEY = "Invalid API-key, IP, or permissions for action."


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, retry_after: int | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after = retry_after

    def response(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return Response({"code": self.code, "msg": self.msg}, status=self.status, headers=headers)


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def invalid(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def new_order_rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


_FILTER_OF_FIELD = {"price": "PRICE_FILTER", "quantity": "LOT_SIZE", "quote_quantity": "NOTIONAL"}
_BINANCE_NAME = {"price": "price", "quantity": "quantity", "quote_quantity": "quoteOrderQty"}
_OUTAGES = (*REDIS_OUTAGES, OperationalError, InterfaceError)


def from_domain(exc: DomainError) -> BinanceError:
    """A service's refusal (its stable lower_snake code) in Binance's terms."""
    code = exc.code
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    if code in ("unknown_market", "unknown_symbol"):
        return invalid_symbol()
    if code == "amount_too_precise" and field in _BINANCE_NAME:
        return BinanceError(-1111, f"Parameter '{_BINANCE_NAME[field]}' has too much precision.")
    if code in ("price_off_tick", "quantity_off_lot", "amount_too_precise", "non_positive",
                "not_finite", "out_of_range"):  # fmt: skip
        return BinanceError(
            -1013, f"Filter failure: {_FILTER_OF_FIELD.get(field or '', 'PRICE_FILTER')}"
        )
    if code == "invalid_price":
        return BinanceError(-1013, "Filter failure: PRICE_FILTER")
    if code == "invalid_quantity":
        return BinanceError(-1013, "Filter failure: LOT_SIZE")
    if code in ("below_min_notional", "above_max_notional"):
        return BinanceError(-1013, "Filter failure: NOTIONAL")
    if code == "insufficient_funds":
        return new_order_rejected(INSUFFICIENT_BALANCE)
    if code in ("duplicate_client_order_id", "duplicate_order_id"):
        return new_order_rejected(DUPLICATE_ORDER)
    if code == "post_only_would_take":
        return new_order_rejected(WOULD_TAKE)
    if code == "market_halted":
        return new_order_rejected(MARKET_CLOSED)
    if code == "balance_limit_exceeded":
        return new_order_rejected("This action is disabled on this account.")
    if code == "invalid_order":
        return BinanceError(-1014, "Unsupported order combination.")
    if code == "order_not_found":
        return BinanceError(-2013, NO_SUCH_ORDER)
    if code == "writes_not_persisted":
        return BinanceError(
            -1008,
            "Server is currently overloaded with other requests. Please try again in a few "
            "minutes.",
            503,
            exc.retry_after or 1,
        )
    if exc.status == 503:
        return BinanceError(
            -1001, "Internal error; unable to process your request. Please try again.", 503
        )
    if exc.status == 429:  # RateLimited: only order writes count outside DRF's throttles
        wait = exc.retry_after if exc.retry_after is not None else 1
        return BinanceError(-1015, "Too many new orders.", 429, wait)
    if exc.status in (401, 403):
        return BinanceError(-2015, BAD_KEY, 401)
    return BinanceError(-1130, exc.message[:200])


def from_drf(exc: drf.APIException, orders_scope: bool) -> BinanceError:
    if isinstance(exc, drf.Throttled):
        seconds = getattr(exc, "wait", None)  # (not in the type stubs)
        wait = math.ceil(seconds) if seconds is not None else 1
        if orders_scope:
            return BinanceError(-1015, "Too many new orders.", 429, wait)
        return BinanceError(
            -1003,
            "Too much request weight used; please use WebSocket Streams for live updates to "
            "avoid polling the API.",
            429,
            wait,
        )
    if isinstance(exc, drf.NotAuthenticated):
        return BinanceError(-2014, "API-key format invalid.", 401)
    if isinstance(exc, drf.AuthenticationFailed | drf.PermissionDenied):
        return BinanceError(-2015, BAD_KEY, 401)
    if isinstance(exc, drf.MethodNotAllowed):
        return BinanceError(-1020, "This operation is not supported.", 405)
    if exc.status_code == 413:
        return BinanceError(-1101, "Too many parameters sent for this endpoint.", 413)
    if exc.status_code == 503:
        return BinanceError(
            -1001, "Internal error; unable to process your request. Please try again.", 503
        )
    return BinanceError(
        -1130, str(exc.detail)[:200], 400 if exc.status_code < 500 else exc.status_code
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The views' handler: every exception becomes a Binance body; never a native one."""
    from rest_framework.views import set_rollback

    set_rollback()
    view = context.get("view")
    if isinstance(exc, BinanceError):
        return exc.response()
    if isinstance(exc, DomainError):
        return from_domain(exc).response()
    if isinstance(exc, RequestDataTooBig):
        return BinanceError(-1101, "Too many parameters sent for this endpoint.", 413).response()
    if isinstance(exc, _OUTAGES):
        log.warning("backing service unavailable: %r", exc)
        return BinanceError(
            -1001, "Internal error; unable to process your request. Please try again.", 503, 1
        ).response()
    if isinstance(exc, drf.APIException):
        return from_drf(exc, bool(getattr(view, "order_writes", False))).response()
    request = context.get("request")
    if request is not None:
        log_unhandled(request._request, exc)
    return BinanceError(
        -1000, "An unknown error occurred while processing the request.", 500
    ).response()
