"""The order list (OCO) API: parse, call a service or selector, serialize. No rules here.

``POST /order-list/oco`` places one, ``GET``/``DELETE /order-list`` read or cancel one,
``GET /user/order-lists`` lists the caller's. Writes go through the request's order writer
(trading.apis.order_writer) like order placement: counted in the "orders" scope, the key
checked by the command's own round trip.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import caller
from common.pagination import NewestFirst
from trading import selectors, services
from trading.apis import ERRORS, READ_ERRORS, OrderWritesApi, order_writer, query
from trading.list_serializers import (
    CancelListPendingOutputSerializer,
    OcoPlaceInputSerializer,
    OrderListCancelledOutputSerializer,
    OrderListLookupQuerySerializer,
    OrderListOutputSerializer,
    OrderListQuerySerializer,
    parse_oco,
)


class OcoApi(OrderWritesApi):
    @extend_schema(
        operation_id="order_list_oco_place",
        request=OcoPlaceInputSerializer,
        responses={
            201: OrderListOutputSerializer,
            202: OpenApiResponse(
                OrderListOutputSerializer,
                description="Not processed yet: the list and its legs are pending.",
            ),
            400: OpenApiResponse(
                description="Invalid, or rejected by the matcher (insufficient_funds,"
                " no_reference_price, ...): error.details.order_list is the list, rejected."
            ),
            409: OpenApiResponse(
                description="Rejected by the matcher: would_trigger_immediately,"
                " post_only_would_take (the limit leg would trade), duplicate_client_list_id,"
                " duplicate_client_order_id, market_halted (error.details.order_list)."
            ),
            503: OpenApiResponse(description="market_unavailable, writes_not_persisted."),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        with order_writer(request) as writer:
            order_list, answered = services.order_list_place_oco(writer, parse_oco(request.data))
        return Response(order_list, status=201 if answered else 202)


class OrderListApi(OrderWritesApi):
    @extend_schema(
        operation_id="order_list_get",
        parameters=[OrderListLookupQuerySerializer],
        responses={
            200: OrderListOutputSerializer,
            404: OpenApiResponse(description="order_list_not_found."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        q = query(OrderListLookupQuerySerializer, request)
        return Response(
            selectors.order_list_get(
                caller(request).pk,
                q["symbol"],
                list_id=q.get("list_id"),
                client_list_id=q.get("client_list_id"),
            )
        )

    @extend_schema(
        operation_id="order_list_cancel",
        parameters=[OrderListLookupQuerySerializer],
        responses={
            200: OrderListCancelledOutputSerializer,
            202: CancelListPendingOutputSerializer,
            404: OpenApiResponse(description="order_list_not_found: no such open order list."),
            **ERRORS,
        },
    )
    def delete(self, request: Request) -> Response:
        with order_writer(request) as writer:
            q = query(OrderListLookupQuerySerializer, request)
            list_id, client_list_id = q.get("list_id"), q.get("client_list_id")
            order_list = services.order_list_cancel(
                writer, q["symbol"], list_id=list_id, client_list_id=client_list_id
            )
        if order_list is None:
            pending: dict[str, Any] = {
                "list_id": list_id,
                "client_list_id": client_list_id,
                "symbol": q["symbol"],
                "status": "pending",
            }
            return Response(pending, status=202)
        return Response(order_list)


class ListPage(NewestFirst):
    ordering = ("-created_at", "-id")


class OrderListHistoryApi(APIView):
    pagination_class = ListPage

    @extend_schema(
        operation_id="user_order_lists",
        parameters=[OrderListQuerySerializer],
        responses={200: OrderListOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(OrderListQuerySerializer, request)
        rows = selectors.order_list_history(caller(request).pk, symbol=q.get("symbol"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(selectors.lists_with_orders(page))
