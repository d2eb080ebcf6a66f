"""Order list (OCO) API input and output.

``parse_oco`` parses ``POST /api/v1/order-list/oco`` as ``parse_order`` parses an order (exact
decimal strings, never JSON numbers; unknown fields refused); ``OcoPlaceInputSerializer``
describes the same body for the schema. The list's shapes are built by trading/order_lists.py
and declared here (``OrderListOutputSerializer``, ``OrderListUpdateOutputSerializer``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.errors import ValidationFailed
from common.serializers import DecimalString
from matching.types import Side, StpMode, TimeInForce
from trading.models import SYMBOL_RE, ListStatus
from trading.order_lists import PENDING, OcoRequest
from trading.serializers import (
    CLIENT_ORDER_ID_PATTERN,
    CLIENT_ORDER_ID_RE,
    MAX_ORDER_ID,
    SYMBOL_PATTERN,
    CancelledOrderOutputSerializer,
    OrderOutputSerializer,
    invalid_field,
    parse_choice,
    parse_money,
)

OCO_FIELDS = frozenset(
    {
        "symbol",
        "side",
        "quantity",
        "price",
        "stop_price",
        "stop_limit_price",
        "stop_limit_time_in_force",
        "client_list_id",
        "limit_client_order_id",
        "stop_client_order_id",
        "stp_mode",
    }
)
# A stop-limit leg, once triggered, is an ordinary limit order: GTC, IOC or FOK.
STOP_LIMIT_TIFS = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
LIST_STATUSES = [PENDING, *ListStatus.values]


def _client_id(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is not None and (
        not isinstance(value, str) or not CLIENT_ORDER_ID_PATTERN.match(value)
    ):
        raise invalid_field(field, "must match " + CLIENT_ORDER_ID_RE)
    return value


def _required_money(data: dict[str, Any], field: str) -> Any:
    value = parse_money(data, field)
    if value is None:
        raise invalid_field(field, "is required.")
    return value


def parse_oco(data: Any) -> OcoRequest:
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", code="invalid_request")
    unknown = set(data) - OCO_FIELDS
    if unknown:
        raise ValidationFailed(
            "Unknown fields.", code="invalid_request", details={"unknown": sorted(unknown)[:10]}
        )
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.match(symbol):
        raise invalid_field("symbol", "must be a market symbol such as SOL_USDC.")
    tif = parse_choice(data, "stop_limit_time_in_force", TimeInForce, TimeInForce.GTC)
    if tif not in STOP_LIMIT_TIFS:
        raise invalid_field("stop_limit_time_in_force", "must be one of GTC, IOC, FOK.")
    stop_limit_price = parse_money(data, "stop_limit_price")
    if stop_limit_price is None and "stop_limit_time_in_force" in data:
        raise invalid_field(
            "stop_limit_time_in_force", "is for a stop-limit leg (stop_limit_price)."
        )
    return OcoRequest(
        symbol=symbol,
        side=parse_choice(data, "side", Side),
        quantity=_required_money(data, "quantity"),
        price=_required_money(data, "price"),
        stop_price=_required_money(data, "stop_price"),
        stop_limit_price=stop_limit_price,
        stop_limit_time_in_force=tif,
        stp_mode=parse_choice(data, "stp_mode", StpMode, StpMode.EXPIRE_TAKER),
        client_list_id=_client_id(data, "client_list_id"),
        limit_client_order_id=_client_id(data, "limit_client_order_id"),
        stop_client_order_id=_client_id(data, "stop_client_order_id"),
    )


class OcoPlaceInputSerializer(serializers.Serializer):
    """Documents POST /api/v1/order-list/oco (parsed by parse_oco)."""

    symbol = serializers.RegexField(SYMBOL_RE)
    side = serializers.ChoiceField(choices=[s.value for s in Side], help_text="Both legs'.")
    quantity = DecimalString(help_text="Both legs' quantity, a multiple of lot_size.")
    price = DecimalString(help_text="The limit leg's price (the take-profit side).")
    stop_price = DecimalString(help_text="The stop leg's trigger.")
    stop_limit_price = DecimalString(
        required=False, help_text="The stop leg's limit price: a stop_limit leg; without it a"
        " stop_market leg."
    )  # fmt: skip
    stop_limit_time_in_force = serializers.ChoiceField(
        choices=[t.value for t in STOP_LIMIT_TIFS],
        required=False,
        help_text="The stop-limit leg's, once triggered (default GTC).",
    )
    client_list_id = serializers.RegexField(
        CLIENT_ORDER_ID_RE, required=False, help_text="Unique per user over accepted lists."
    )
    limit_client_order_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)
    stop_client_order_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)
    stp_mode = serializers.ChoiceField(
        choices=[m.value for m in StpMode], default="expire_taker", required=False
    )


class OrderListOutputSerializer(serializers.Serializer):
    """An order list as every endpoint shows it (trading.order_lists.list_json)."""

    list_id = serializers.IntegerField()
    client_list_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    contingency_type = serializers.ChoiceField(choices=["oco"])
    status = serializers.ChoiceField(
        choices=LIST_STATUSES,
        help_text="pending (not processed by the matcher yet), executing (a leg is open),"
        " all_done (both legs ended), rejected.",
    )
    reject_reason = serializers.CharField(allow_null=True)
    orders = OrderOutputSerializer(many=True, help_text="The limit leg, then the stop leg.")
    created_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")


class OrderListCancelledOutputSerializer(OrderListOutputSerializer):
    """``DELETE /order-list``'s reply: the list, ``all_done``, with the legs this cancel ended
    as ``DELETE /order`` shows a cancelled order (no ``fills``)."""

    def get_fields(self) -> dict[str, Any]:
        # (replaced in place: a field redeclared on the subclass would move to the end)
        fields = super().get_fields()
        fields["orders"] = CancelledOrderOutputSerializer(many=True)
        return fields


class OrderListUpdateOutputSerializer(serializers.Serializer):
    """One change of an order list on the private ``orders`` stream
    (trading.order_lists.list_update_json, built by marketdata.frames)."""

    e = serializers.ChoiceField(choices=["order_list"])
    E = serializers.IntegerField(help_text="Event time, unix ms.")
    update = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["accepted", "rejected", "done"]
    )
    list_id = serializers.IntegerField()
    client_list_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    contingency_type = serializers.ChoiceField(choices=["oco"])
    status = serializers.ChoiceField(choices=ListStatus.values)
    reason = serializers.CharField(allow_null=True, help_text="Why it was rejected.")
    order_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The limit leg's id, then the stop leg's."
    )


class OrderListLookupQuerySerializer(serializers.Serializer):
    symbol = serializers.RegexField(SYMBOL_RE)
    list_id = serializers.IntegerField(min_value=0, max_value=MAX_ORDER_ID, required=False)
    client_list_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("list_id" in attrs) == ("client_list_id" in attrs):
            raise serializers.ValidationError("Give exactly one of list_id and client_list_id.")
        return attrs


class CancelListPendingOutputSerializer(serializers.Serializer):
    """202: the list's cancel is queued; the matcher did not answer in time."""

    list_id = serializers.IntegerField(allow_null=True)
    client_list_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    status = serializers.ChoiceField(choices=[PENDING])


class OrderListQuerySerializer(serializers.Serializer):
    symbol = serializers.RegexField(SYMBOL_RE, required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=500, required=False, help_text="Page size (default 100)."
    )
    cursor = serializers.CharField(required=False, help_text="From the previous page's next.")
