"""Trading API input and output.

Placing an order is the hot path, so its body is parsed by ``parse_order`` (plain checks, no
serializer machinery); ``OrderPlaceInputSerializer`` describes the same body for the OpenAPI
schema. Other inputs use DRF serializers.

An order's outputs are declared here (``OrderOutputSerializer``, ``CancelledOrderOutputSerializer``,
``FillOutputSerializer``, and ``OrderUpdateOutputSerializer`` for the private ``orders``
stream) and built by trading/orders.py's plain functions, which REST and the publisher call:
a serializer's ``.data`` costs about 250 us an order against 1 us for the function (measured for
issue 18), and both paths are hot (order replies, the publisher's fan-out).
tests/trading/test_order_representation.py holds each declaration to what the functions build,
field by field and in order, for every status, through the API, the stream and the schema.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers

from common.clock import MAX_MS
from common.errors import ValidationFailed
from common.serializers import DecimalString
from matching.types import OrderType, Side, StpMode, TimeInForce
from trading.models import SYMBOL_RE, OrderStatus
from trading.orders import OrderRequest

MAX_NUMBER_CHARS = 40
MAX_ORDER_ID = 2**63 - 1
CLIENT_ORDER_ID_RE = r"^[A-Za-z0-9._:-]{1,36}$"
CLIENT_ORDER_ID_PATTERN = re.compile(CLIENT_ORDER_ID_RE)
SYMBOL_PATTERN = re.compile(SYMBOL_RE)
_MONEY_FIELDS = ("price", "quantity", "quote_quantity", "stop_price", "iceberg_quantity")
ORDER_FIELDS = frozenset(
    {
        "symbol",
        "side",
        "type",
        "time_in_force",
        "post_only",
        "stp_mode",
        "client_order_id",
        "trailing_delta",
        "expire_time",
        *_MONEY_FIELDS,
    }
)
TRAILING_DELTA_MIN, TRAILING_DELTA_MAX = 10, 2000  # basis points (Binance's bounds)


class MarketOutputSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    base = serializers.CharField(source="base.code")
    quote = serializers.CharField(source="quote.code")
    base_decimals = serializers.IntegerField(source="base.decimals")
    quote_decimals = serializers.IntegerField(source="quote.decimals")
    tick_size = DecimalString()
    lot_size = DecimalString()
    min_notional = DecimalString()
    maker_fee_rate = DecimalString()
    taker_fee_rate = DecimalString()
    status = serializers.CharField()


# --- Placing an order -----------------------------------------------------------------------------


def invalid_field(field: str, message: str, code: str = "invalid_request") -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", code=code, details={"field": field})


def parse_choice(data: dict[str, Any], field: str, enum: Any, default: Any = None) -> Any:
    value = data.get(field)
    if value is None:
        if default is None:
            raise invalid_field(field, "is required.")
        return default
    try:
        return enum(value) if isinstance(value, str) else enum(None)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise invalid_field(field, f"must be one of {allowed}.") from None


def parse_money(data: dict[str, Any], field: str) -> Decimal | None:
    """A decimal string, or absent. JSON numbers are refused: a client's float already rounded.

    Only ASCII text of at most 40 characters is parsed (Decimal alone would accept "1_000",
    surrounding spaces and non-ASCII digits); whether the value is positive, finite and on the
    market's grid is decided by matching.arith, with its codes.
    """
    value = data.get(field)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_NUMBER_CHARS
        or not value.isascii()
        or "_" in value
        or value.strip() != value
    ):
        raise invalid_field(field, 'must be a decimal string such as "12.34".', "invalid_number")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise invalid_field(
            field, 'must be a decimal string such as "12.34".', "invalid_number"
        ) from None


def parse_order(data: Any) -> OrderRequest:
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", code="invalid_request")
    unknown = set(data) - ORDER_FIELDS
    if unknown:
        raise ValidationFailed(
            "Unknown fields.", code="invalid_request", details={"unknown": sorted(unknown)[:10]}
        )
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.match(symbol):
        raise invalid_field("symbol", "must be a market symbol such as SOL_USDC.")
    post_only = data.get("post_only", False)
    if not isinstance(post_only, bool):
        raise invalid_field("post_only", "must be true or false.")
    client_order_id = data.get("client_order_id")
    if client_order_id is not None and (
        not isinstance(client_order_id, str) or not CLIENT_ORDER_ID_PATTERN.match(client_order_id)
    ):
        raise invalid_field("client_order_id", "must match " + CLIENT_ORDER_ID_RE)
    order_type = parse_choice(data, "type", OrderType)
    # A market order never rests: IOC is what applies to it, and what it reports.
    default_tif = TimeInForce.IOC if order_type is OrderType.MARKET else TimeInForce.GTC
    trailing_delta = data.get("trailing_delta")
    if trailing_delta is not None and (
        type(trailing_delta) is not int
        or not TRAILING_DELTA_MIN <= trailing_delta <= TRAILING_DELTA_MAX
    ):
        raise invalid_field(
            "trailing_delta",
            f"must be an integer of basis points, {TRAILING_DELTA_MIN} to {TRAILING_DELTA_MAX}.",
        )
    expire_time = data.get("expire_time")
    if expire_time is not None and (type(expire_time) is not int or not 0 < expire_time <= MAX_MS):
        raise invalid_field(
            "expire_time", "must be an integer of unix milliseconds.", "invalid_expire_time"
        )
    return OrderRequest(
        symbol=symbol,
        side=parse_choice(data, "side", Side),
        type=order_type,
        time_in_force=parse_choice(data, "time_in_force", TimeInForce, default_tif),
        price=parse_money(data, "price"),
        quantity=parse_money(data, "quantity"),
        quote_quantity=parse_money(data, "quote_quantity"),
        post_only=post_only,
        stp_mode=parse_choice(data, "stp_mode", StpMode, StpMode.EXPIRE_TAKER),
        client_order_id=client_order_id,
        stop_price=parse_money(data, "stop_price"),
        trailing_delta=trailing_delta,
        iceberg_quantity=parse_money(data, "iceberg_quantity"),
        expire_time=expire_time,
    )


class OrderPlaceInputSerializer(serializers.Serializer):
    """Documents POST /api/v1/order (parsed by parse_order)."""

    symbol = serializers.RegexField(SYMBOL_RE)
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    type = serializers.ChoiceField(choices=[t.value for t in OrderType])
    price = DecimalString(required=False, help_text="Limit orders: a multiple of tick_size.")
    quantity = DecimalString(required=False, help_text="Base amount, a multiple of lot_size.")
    quote_quantity = DecimalString(
        required=False, help_text="Market buys only, instead of quantity: quote to spend."
    )
    time_in_force = serializers.ChoiceField(
        choices=[t.value for t in TimeInForce],
        required=False,
        help_text="Limit orders (and stop_limit, take_profit_limit): GTC (the default), IOC, FOK"
        " or GTD (with expire_time). Market orders are IOC (the default for them; the others"
        " are refused): they never rest. stop_market and take_profit_market: GTC (default) or"
        " GTD.",
    )
    post_only = serializers.BooleanField(
        default=False, required=False, help_text="Limit orders, GTC or GTD."
    )
    stp_mode = serializers.ChoiceField(
        choices=[m.value for m in StpMode], default="expire_taker", required=False
    )
    client_order_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)
    stop_price = DecimalString(
        required=False,
        help_text="stop_* and take_profit_* orders: the trigger, a multiple of tick_size.",
    )
    trailing_delta = serializers.IntegerField(
        min_value=TRAILING_DELTA_MIN,
        max_value=TRAILING_DELTA_MAX,
        required=False,
        help_text="stop_market and stop_limit instead of stop_price: a trailing stop, in basis"
        " points.",
    )
    iceberg_quantity = DecimalString(
        required=False,
        help_text="Resting limit orders (GTC, GTD): the part shown in the book, a multiple of"
        " lot_size below quantity.",
    )
    expire_time = serializers.IntegerField(
        min_value=1,
        max_value=MAX_MS,
        required=False,
        help_text="With time_in_force GTD (only): unix time, ms, in the future.",
    )


class FillOutputSerializer(serializers.Serializer):
    """One trade of an order (trading.orders.fill_json)."""

    trade_id = serializers.IntegerField()
    price = DecimalString()
    quantity = DecimalString()
    fee = DecimalString()
    fee_asset = serializers.CharField()
    liquidity = serializers.ChoiceField(choices=["maker", "taker"])


class OrderOutputSerializer(serializers.Serializer):
    """The order as every endpoint shows it (trading.orders.order_json)."""

    order_id = serializers.IntegerField()
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    type = serializers.ChoiceField(choices=[t.value for t in OrderType])
    time_in_force = serializers.ChoiceField(choices=[t.value for t in TimeInForce])
    price = DecimalString(allow_null=True)
    quantity = DecimalString(allow_null=True)
    quote_quantity = DecimalString(allow_null=True)
    post_only = serializers.BooleanField()
    stp_mode = serializers.ChoiceField(choices=[m.value for m in StpMode])
    stop_price = DecimalString(allow_null=True, help_text="Conditional orders: the trigger.")
    trailing_delta = serializers.IntegerField(
        allow_null=True, help_text="Trailing stops: basis points (10..2000)."
    )
    iceberg_quantity = DecimalString(allow_null=True, help_text="Icebergs: the visible part.")
    expire_time = serializers.IntegerField(allow_null=True, help_text="GTD: unix time, ms.")
    list_id = serializers.IntegerField(allow_null=True, help_text="The OCO it is a leg of.")
    filled_quantity = DecimalString()
    filled_quote = DecimalString()
    status = serializers.ChoiceField(choices=OrderStatus.values)
    reject_reason = serializers.CharField(allow_null=True)
    expire_reason = serializers.CharField(allow_null=True)
    trigger_price = DecimalString(
        allow_null=True, help_text="The last trade price that triggered a conditional order."
    )
    fills = FillOutputSerializer(many=True)
    created_at = serializers.IntegerField(help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(help_text="Unix time, ms.")


class CancelledOrderOutputSerializer(serializers.Serializer):
    """A cancel's reply (``DELETE /order``, each of ``DELETE /orders``): built from the
    matcher's event and the order as placed, without waiting for its history, so no ``fills``
    (``GET /order`` has them); what it was placed with is null in the rare case neither its
    placed copy nor its row was found (trading/orders.py, ``cancelled_order``)."""

    order_id = serializers.IntegerField()
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=[s.value for s in Side], allow_null=True)
    type = serializers.ChoiceField(choices=[t.value for t in OrderType], allow_null=True)
    time_in_force = serializers.ChoiceField(choices=[t.value for t in TimeInForce], allow_null=True)
    price = DecimalString(allow_null=True)
    quantity = DecimalString(allow_null=True)
    quote_quantity = DecimalString(allow_null=True)
    post_only = serializers.BooleanField(allow_null=True)
    stp_mode = serializers.ChoiceField(choices=[m.value for m in StpMode], allow_null=True)
    stop_price = DecimalString(allow_null=True, help_text="Conditional orders: the trigger.")
    trailing_delta = serializers.IntegerField(
        allow_null=True, help_text="Trailing stops: basis points (10..2000)."
    )
    iceberg_quantity = DecimalString(allow_null=True, help_text="Icebergs: the visible part.")
    expire_time = serializers.IntegerField(allow_null=True, help_text="GTD: unix time, ms.")
    list_id = serializers.IntegerField(allow_null=True, help_text="The OCO it is a leg of.")
    filled_quantity = DecimalString()
    filled_quote = DecimalString()
    status = serializers.ChoiceField(choices=[OrderStatus.CANCELLED.value])
    reject_reason = serializers.CharField(allow_null=True)
    expire_reason = serializers.CharField(allow_null=True, help_text="Why it was cancelled.")
    trigger_price = DecimalString(allow_null=True)
    created_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(help_text="Unix time, ms.")


class OrderUpdateOutputSerializer(serializers.Serializer):
    """One change of an order on the private ``orders`` stream (trading.orders.order_update_json,
    built by marketdata.frames; docs/api.md). Amounts are written at the market's precision
    ("151.00"), not plain as REST writes them. What the order was placed with is null when the
    publisher did not see its placement, amounts when it does not know the market; an
    ``amended`` update has no status nor filled amounts."""

    e = serializers.ChoiceField(choices=["order"])
    E = serializers.IntegerField(help_text="Event time, unix ms.")
    # (the metaclass takes declared fields off the class, so Serializer.update stays a method)
    update = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[
            "new",
            "triggered",
            "trade",
            "filled",
            "cancelled",
            "expired",
            "rejected",
            "amended",
        ]
    )
    order_id = serializers.IntegerField()
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=[s.value for s in Side], allow_null=True)
    type = serializers.ChoiceField(choices=[t.value for t in OrderType], allow_null=True)
    time_in_force = serializers.ChoiceField(choices=[t.value for t in TimeInForce], allow_null=True)
    price = DecimalString(allow_null=True)
    quantity = DecimalString(allow_null=True)
    quote_quantity = DecimalString(allow_null=True)
    post_only = serializers.BooleanField(allow_null=True)
    stp_mode = serializers.ChoiceField(choices=[m.value for m in StpMode], allow_null=True)
    stop_price = DecimalString(allow_null=True, help_text="Conditional orders: the trigger.")
    trailing_delta = serializers.IntegerField(
        allow_null=True, help_text="Trailing stops: basis points (10..2000)."
    )
    iceberg_quantity = DecimalString(allow_null=True, help_text="Icebergs: the visible part.")
    expire_time = serializers.IntegerField(allow_null=True, help_text="GTD: unix time, ms.")
    list_id = serializers.IntegerField(allow_null=True, help_text="The OCO it is a leg of.")
    created_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")
    status = serializers.ChoiceField(choices=OrderStatus.values, allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why it ended or was rejected.")
    trigger_price = DecimalString(
        allow_null=True, help_text="A triggered update's: the last trade price that crossed."
    )
    filled_quantity = DecimalString(allow_null=True)
    filled_quote = DecimalString(allow_null=True)
    fill = FillOutputSerializer(allow_null=True, help_text="The trade of a trade update.")
    kept_priority = serializers.BooleanField(
        allow_null=True, help_text="An amended update's: whether it kept its time priority."
    )


class AmendedOrderOutputSerializer(OrderOutputSerializer):
    """``PATCH /order``'s reply: the order after the amend, and whether it kept its place."""

    kept_priority = serializers.BooleanField(
        help_text="True: it kept its time priority (a smaller quantity); false: it went to the"
        " back of its level (a price change or a larger quantity)."
    )


class OrderAmendInputSerializer(serializers.Serializer):
    """Documents PATCH /api/v1/order (parsed by parse_amend)."""

    symbol = serializers.RegexField(SYMBOL_RE)
    order_id = serializers.IntegerField(min_value=0, max_value=MAX_ORDER_ID, required=False)
    client_order_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)
    quantity = DecimalString(required=False, help_text="The new total quantity.")
    price = DecimalString(required=False, help_text="The new price.")


AMEND_FIELDS = frozenset({"symbol", "order_id", "client_order_id", "quantity", "price"})


def parse_amend(data: Any) -> dict[str, Any]:
    """``PATCH /order``'s body: symbol, exactly one of order_id and client_order_id, and
    quantity and/or price as decimal strings (checked on the grid by the service)."""
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", code="invalid_request")
    unknown = set(data) - AMEND_FIELDS
    if unknown:
        raise ValidationFailed(
            "Unknown fields.", code="invalid_request", details={"unknown": sorted(unknown)[:10]}
        )
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.match(symbol):
        raise invalid_field("symbol", "must be a market symbol such as SOL_USDC.")
    order_id, client_order_id = data.get("order_id"), data.get("client_order_id")
    if (order_id is None) == (client_order_id is None):
        raise invalid_field("order_id", "give exactly one of order_id and client_order_id.")
    if order_id is not None and (type(order_id) is not int or not 0 <= order_id <= MAX_ORDER_ID):
        raise invalid_field("order_id", "must be an order id.")
    if client_order_id is not None and (
        not isinstance(client_order_id, str) or not CLIENT_ORDER_ID_PATTERN.match(client_order_id)
    ):
        raise invalid_field("client_order_id", "must match " + CLIENT_ORDER_ID_RE)
    return {
        "symbol": symbol,
        "order_id": order_id,
        "client_order_id": client_order_id,
        "price": parse_money(data, "price"),
        "quantity": parse_money(data, "quantity"),
    }


class CancelPendingOutputSerializer(serializers.Serializer):
    """202: the cancel is queued; the matcher did not answer in time."""

    order_id = serializers.IntegerField(allow_null=True)
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending"])


# --- Query strings --------------------------------------------------------------------------------


class OrderLookupQuerySerializer(serializers.Serializer):
    symbol = serializers.RegexField(SYMBOL_RE)
    order_id = serializers.IntegerField(min_value=0, max_value=MAX_ORDER_ID, required=False)
    client_order_id = serializers.RegexField(CLIENT_ORDER_ID_RE, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("order_id" in attrs) == ("client_order_id" in attrs):
            raise serializers.ValidationError("Give exactly one of order_id and client_order_id.")
        return attrs


class SymbolQuerySerializer(serializers.Serializer):
    symbol = serializers.RegexField(SYMBOL_RE, required=False)


class TimeRangeQuerySerializer(SymbolQuerySerializer):
    # up to 9999-12-31T23:59:59.999Z: what a datetime holds (common.clock.MAX_MS)
    start_time = serializers.IntegerField(
        min_value=0, max_value=MAX_MS, required=False, help_text="Unix time, ms, inclusive."
    )
    end_time = serializers.IntegerField(
        min_value=0, max_value=MAX_MS, required=False, help_text="Unix time, ms, inclusive."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=500, required=False, help_text="Page size (default 100)."
    )
    cursor = serializers.CharField(required=False, help_text="From the previous page's next.")


class OrderHistoryQuerySerializer(TimeRangeQuerySerializer):
    status = serializers.ChoiceField(choices=OrderStatus.values, required=False)


class TradeOutputSerializer(serializers.Serializer):
    trade_id = serializers.IntegerField()
    symbol = serializers.CharField()
    order_id = serializers.IntegerField()
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    price = DecimalString()
    quantity = DecimalString()
    quote_quantity = DecimalString()
    fee = DecimalString()
    fee_asset = serializers.CharField()
    liquidity = serializers.ChoiceField(choices=["maker", "taker"])
    time = serializers.IntegerField(help_text="Unix time, ms.")


# --- Statements -----------------------------------------------------------------------------------


class StatementInputSerializer(serializers.Serializer):
    start_time = serializers.IntegerField(min_value=0, max_value=MAX_MS, help_text="Unix ms.")
    end_time = serializers.IntegerField(
        min_value=0, max_value=MAX_MS, help_text="Unix ms, exclusive."
    )


class StatementOutputSerializer(serializers.Serializer):
    statement_id = serializers.IntegerField()
    start_time = serializers.IntegerField()
    end_time = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pending", "ready", "failed"])
    rows = serializers.IntegerField(help_text="Rows of the CSV, once ready.")
    created_at = serializers.IntegerField()
    finished_at = serializers.IntegerField(allow_null=True)
    download = serializers.CharField(allow_null=True, help_text="The CSV's path, once ready.")
