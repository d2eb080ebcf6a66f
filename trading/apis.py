"""The trading API: parse, call a service or selector, serialize. No rules here.

One APIView per path; each method is one operation (POST/GET/DELETE /order are three).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.apis import WRITES_NOT_PERSISTED
from accounts.authentication import deferred_key_check
from accounts.models import Statement, StatementStatus
from accounts.permissions import caller
from accounts.throttling import orders_window
from common.clock import MAX_MS, datetime_to_ms, ms_to_datetime
from common.errors import Conflict, ValidationFailed
from common.pagination import NewestFirst
from trading import selectors, services, statements
from trading.orders import row_trade
from trading.serializers import (
    AmendedOrderOutputSerializer,
    CancelledOrderOutputSerializer,
    CancelPendingOutputSerializer,
    MarketOutputSerializer,
    OrderAmendInputSerializer,
    OrderHistoryQuerySerializer,
    OrderLookupQuerySerializer,
    OrderOutputSerializer,
    OrderPlaceInputSerializer,
    StatementInputSerializer,
    StatementOutputSerializer,
    SymbolQuerySerializer,
    TimeRangeQuerySerializer,
    TradeOutputSerializer,
    parse_amend,
    parse_order,
)
from trading.services import OrderWriter

# (every operation's common refusals, with the error body: exchange_site/schema.py)
ERRORS: dict[int, OpenApiResponse] = {}
READ_ERRORS = {**ERRORS, 503: WRITES_NOT_PERSISTED}


def query(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters; 400 invalid_request with field details otherwise.

    A parameter given empty (``?symbol=``) is refused, not taken as absent (DRF's reading of
    form-style input): ``DELETE /orders?symbol=`` must never mean "in every market"."""
    params = request.query_params
    serializer = serializer_class(data=params)
    blank = {
        name: ["This parameter may not be empty; leave it out instead."]
        for name in list(serializer.fields)
        if params.get(str(name)) == ""
    }
    if blank:
        raise ValidationFailed("Invalid query parameters.", details=blank)
    if not serializer.is_valid():
        raise ValidationFailed("Invalid query parameters.", details=serializer.errors)
    return dict(serializer.validated_data)


# an order write's: accounts.authentication defers its check
WRITE_METHODS = ("POST", "PATCH", "DELETE")


def order_writer(request: Request) -> OrderWriter:
    """The request as an order write: its user, with the guards its authentication and the
    "orders" throttle scope left for its command to carry (trading.services.writer). Views
    open it around parsing and the service call, so a request refused before it sent a command
    is checked and counted all the same."""
    return OrderWriter(
        caller(request).pk, count=orders_window(request), key_check=deferred_key_check(request)
    )


class OrderWritesApi(APIView):
    """Placement and cancels count against the "orders" scope instead of "user", in the round
    trip of the command they send, which also checks that the API key was not revoked since
    this process cached it (``order_writer``); so no throttle class counts them here."""

    key_checked_by_command = True  # accounts.authentication defers the key's check to it

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method in WRITE_METHODS:
            return []
        return super().get_throttles()

    def http_method_not_allowed(  # type: ignore[override]  # (as DRF's stubs)
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response:
        if request.method not in WRITE_METHODS:
            return super().http_method_not_allowed(request, *args, **kwargs)
        # A write method this path does not take is checked and counted as a write all the
        # same: its 405 is no way around the key check or the "orders" scope.
        with order_writer(request):
            return super().http_method_not_allowed(request, *args, **kwargs)


class MarketListApi(APIView):
    """Every market with its spec and status. Public."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses=MarketOutputSerializer(many=True), operation_id="markets_list")
    def get(self, request: Request) -> Response:
        return Response(MarketOutputSerializer(selectors.market_list(), many=True).data)


class OrderApi(OrderWritesApi):
    @extend_schema(
        operation_id="order_place",
        request=OrderPlaceInputSerializer,
        responses={
            201: OrderOutputSerializer,
            202: OpenApiResponse(
                OrderOutputSerializer, description="Not matched yet: status pending."
            ),
            400: OpenApiResponse(
                description="Invalid, or rejected by the matcher (insufficient_funds, ...): "
                "error.details.order is the order, status rejected."
            ),
            409: OpenApiResponse(
                description="Rejected by the matcher: duplicate_client_order_id, "
                "post_only_would_take, fok_not_fillable, market_halted (error.details.order)."
            ),
            503: OpenApiResponse(
                description="market_unavailable (no matcher serves it), or, with several "
                "matcher shards, writes_not_persisted (funds could not be moved yet)."
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        with order_writer(request) as writer:
            order, answered = services.order_place(writer, parse_order(request.data))
        return Response(order, status=201 if answered else 202)

    @extend_schema(
        operation_id="order_get",
        parameters=[OrderLookupQuerySerializer],
        responses={
            200: OrderOutputSerializer,
            404: OpenApiResponse(description="order_not_found."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        q = query(OrderLookupQuerySerializer, request)
        return Response(
            selectors.order_get(
                caller(request).pk,
                q["symbol"],
                order_id=q.get("order_id"),
                client_order_id=q.get("client_order_id"),
            )
        )

    @extend_schema(
        operation_id="order_cancel",
        parameters=[OrderLookupQuerySerializer],
        responses={
            200: CancelledOrderOutputSerializer,
            202: CancelPendingOutputSerializer,
            404: OpenApiResponse(description="order_not_found: no such open order."),
            **ERRORS,
        },
    )
    def delete(self, request: Request) -> Response:
        with order_writer(request) as writer:
            q = query(OrderLookupQuerySerializer, request)
            order_id, client_order_id = q.get("order_id"), q.get("client_order_id")
            order = services.order_cancel(
                writer, q["symbol"], order_id=order_id, client_order_id=client_order_id
            )
        if order is None:
            pending = {
                "order_id": order_id,
                "client_order_id": client_order_id,
                "symbol": q["symbol"],
                "status": "pending",
            }
            return Response(pending, status=202)
        return Response(order)

    @extend_schema(
        operation_id="order_amend",
        request=OrderAmendInputSerializer,
        responses={
            200: AmendedOrderOutputSerializer,
            202: CancelPendingOutputSerializer,
            400: OpenApiResponse(
                description="Invalid (price_off_tick, quantity_off_lot, ...), or refused by the"
                " matcher: invalid_quantity (not above what is filled), insufficient_funds,"
                " below_min_notional, ..."
            ),
            404: OpenApiResponse(description="order_not_found: no such open order."),
            409: OpenApiResponse(
                description="order_not_amendable (untriggered), post_only_would_take (the new"
                " price would trade), market_halted."
            ),
            **ERRORS,
        },
    )
    def patch(self, request: Request) -> Response:
        with order_writer(request) as writer:
            q = parse_amend(request.data)
            order = services.order_amend(
                writer,
                q["symbol"],
                order_id=q["order_id"],
                client_order_id=q["client_order_id"],
                price=q["price"],
                quantity=q["quantity"],
            )
        if order is None:
            pending = {
                "order_id": q["order_id"],
                "client_order_id": q["client_order_id"],
                "symbol": q["symbol"],
                "status": "pending",
            }
            return Response(pending, status=202)
        return Response(order)


class OpenOrdersApi(OrderWritesApi):
    @extend_schema(
        operation_id="orders_open",
        parameters=[SymbolQuerySerializer],
        responses={200: OrderOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(SymbolQuerySerializer, request)
        return Response(selectors.open_orders(caller(request).pk, q.get("symbol")))

    @extend_schema(
        operation_id="orders_cancel_all",
        parameters=[SymbolQuerySerializer],
        responses={
            200: CancelledOrderOutputSerializer(many=True),
            202: OpenApiResponse(
                CancelledOrderOutputSerializer(many=True),
                description="A matcher shard did not answer: its cancels are queued.",
            ),
            **ERRORS,
        },
    )
    def delete(self, request: Request) -> Response:
        with order_writer(request) as writer:
            q = query(SymbolQuerySerializer, request)
            cancelled, answered = services.order_cancel_all(writer, q.get("symbol"))
        return Response(cancelled, status=200 if answered else 202)


def _time_range(q: dict[str, Any]) -> dict[str, Any]:
    end = q.get("end_time")
    return {
        "symbol": q.get("symbol"),
        "start": ms_to_datetime(q["start_time"]) if "start_time" in q else None,
        # end_time is inclusive to the millisecond (rows keep microseconds); at the last
        # millisecond a datetime holds there is no later one to stop before: no bound
        "end": ms_to_datetime(end + 1) if end is not None and end < MAX_MS else None,
    }


class OrderPage(NewestFirst):
    ordering = ("-created_at", "-id")


class TradePage(NewestFirst):
    ordering = ("-executed_at", "-id")


class OrderHistoryApi(APIView):
    pagination_class = OrderPage

    @extend_schema(
        operation_id="user_orders",
        parameters=[OrderHistoryQuerySerializer],
        responses={200: OrderOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(OrderHistoryQuerySerializer, request)
        rows = selectors.order_history(caller(request).pk, status=q.get("status"), **_time_range(q))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(selectors.orders_with_fills(page))


class TradeHistoryApi(APIView):
    pagination_class = TradePage

    @extend_schema(
        operation_id="user_trades",
        parameters=[TimeRangeQuerySerializer],
        responses={200: TradeOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(TimeRangeQuerySerializer, request)
        rows = selectors.trade_history(caller(request).pk, **_time_range(q))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response([row_trade(t, caller(request).pk) for t in page])


# --- Statements ---------------------------------------------------------------------------------


def statement_out(statement: Statement) -> dict[str, Any]:
    ready = statement.status == StatementStatus.READY
    return {
        "statement_id": statement.pk,
        "start_time": datetime_to_ms(statement.start),
        "end_time": datetime_to_ms(statement.end),
        "status": statement.status,
        "rows": statement.rows,
        "created_at": datetime_to_ms(statement.created_at),
        "finished_at": datetime_to_ms(statement.finished_at) if statement.finished_at else None,
        "download": reverse("user-statement-csv", args=[statement.pk]) if ready else None,
    }


class StatementListCreateApi(APIView):
    """Ask for a CSV statement of ledger and trades over a period (built by a Celery task), and
    list the caller's statements. Asking moves no money: the ``read`` permission suffices."""

    required_permissions = {"POST": "read"}

    @extend_schema(
        operation_id="user_statements_create",
        request=StatementInputSerializer,
        responses={
            202: StatementOutputSerializer,
            409: OpenApiResponse(description="too_many_statements: wait for those pending"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = StatementInputSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationFailed("The request is invalid.", details=serializer.errors)
        data = serializer.validated_data
        statement = statements.request(
            caller(request), ms_to_datetime(data["start_time"]), ms_to_datetime(data["end_time"])
        )
        return Response(statement_out(statement), status=202)

    @extend_schema(
        operation_id="user_statements", responses={200: StatementOutputSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response([statement_out(s) for s in statements.listing(caller(request))])


class StatementApi(APIView):
    @extend_schema(
        operation_id="user_statement",
        responses={
            200: StatementOutputSerializer,
            404: OpenApiResponse(description="statement_not_found"),
            **ERRORS,
        },
    )
    def get(self, request: Request, statement_id: int) -> Response:
        return Response(statement_out(statements.of(caller(request), statement_id)))


class StatementCsvApi(APIView):
    @extend_schema(
        operation_id="user_statement_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(description="The statement as CSV."),
            404: OpenApiResponse(description="statement_not_found"),
            409: OpenApiResponse(description="statement_not_ready"),
            **ERRORS,
        },
    )
    def get(self, request: Request, statement_id: int) -> HttpResponse:
        statement = statements.of(caller(request), statement_id)
        if statement.status != StatementStatus.READY:
            raise Conflict(
                f"The statement is {statement.status}.",
                code="statement_not_ready",
                details={"status": statement.status},
            )
        name = f"statement-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}-{statement.pk}.csv"
        response = HttpResponse(statement.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response
