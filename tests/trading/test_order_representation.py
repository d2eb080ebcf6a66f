"""One order representation: what the API, the ``orders`` stream and the schema show of an order
is what trading/serializers.py declares, field by field and in order, in every status.

The builders are trading/orders.py's plain functions (the hot paths call them); the serializers
declare the shapes for the schema. These tests hold the two together: every field built is
declared, in the declared order, and its value is valid for the declared field (type, choices,
null only where the declaration allows it).
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from rest_framework import serializers

from marketdata.formatting import Fmt
from marketdata.frames import PublisherState
from marketdata.market_state import MarketState
from matching.errors import EndReason, RejectReason
from matching.events import (
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    TradeExecuted,
)
from matching.types import OrderType, Side, StpMode, TimeInForce
from tests.api import Api
from tests.factories import make_user
from tests.support.specs import SOL_USDC
from trading.models import OrderStatus
from trading.serializers import (
    CancelledOrderOutputSerializer,
    FillOutputSerializer,
    OrderOutputSerializer,
    OrderUpdateOutputSerializer,
)


def conforms(value: dict[str, Any], declared: serializers.Serializer) -> None:
    """``value`` has the declared fields in the declared order, each valid for its field."""
    fields = declared.fields
    assert list(value) == list(fields), (type(declared).__name__, list(value))
    for name, field in fields.items():
        item = value[name]
        if item is None:
            assert field.allow_null, (type(declared).__name__, name)
        elif isinstance(field, serializers.ListSerializer):
            for element in item:
                conforms(element, cast(serializers.Serializer, field.child))
        elif isinstance(field, serializers.Serializer):
            conforms(item, field)
        else:
            field.run_validation(item)  # raises ValidationError if the value is not of the field
            if isinstance(field, serializers.IntegerField | serializers.BooleanField):
                assert type(item) is (int if isinstance(field, serializers.IntegerField) else bool)


# --- REST: every status, through the real matcher and persister ---------------------------------


@pytest.fixture
def maker(pipeline):
    return Api.for_user(make_user("maker")).fund(SOL="100", USDC="10000")


@pytest.fixture
def taker(pipeline):
    return Api.for_user(make_user("taker")).fund(SOL="100", USDC="10000")


@pytest.mark.django_db(transaction=True)
def test_rest_orders_are_the_declared_order_in_every_status_when_placed_read_and_cancelled(
    maker, taker
):
    # given a resting sell and orders that end in every status the matcher can give
    rested = maker.place(side="sell", price="20", quantity="3", client_order_id="m-1").json()
    partial = taker.place(side="buy", price="20", quantity="4").json()
    filled = maker.place(side="sell", price="19.5", quantity="1").json()
    expired = taker.place(side="buy", price="5", quantity="1", time_in_force="IOC").json()
    market = taker.place(side="buy", type="market", quote_quantity="1").json()
    refused = taker.place(side="buy", price="25", quantity="9", time_in_force="FOK")
    rejected = refused.json()["error"]["details"]["order"]
    later = maker.place(side="sell", price="30", quantity="1").json()
    # when they are read back and cancelled
    got = maker.get("/api/v1/order", symbol="SOL_USDC", order_id=rested["order_id"]).json()
    cancelled = maker.delete("/api/v1/order", symbol="SOL_USDC", order_id=later["order_id"])
    open_orders = taker.get("/api/v1/orders").json()
    history = taker.get("/api/v1/user/orders").json()["results"]
    cancelled_all = taker.delete("/api/v1/orders").json()
    # then every order is the declared shape, whatever its status
    placed = [rested, partial, filled, expired, market, rejected, later, got]
    statuses = {o["status"] for o in placed + history}
    assert statuses >= {"new", "partially_filled", "filled", "expired", "rejected"}
    assert any(o["fills"] for o in placed + history)
    for order in placed + open_orders + history:
        conforms(order, OrderOutputSerializer())
    assert cancelled.status_code == 200
    for order in [cancelled.json(), *cancelled_all]:
        assert order["status"] == "cancelled"
        conforms(order, CancelledOrderOutputSerializer())


@pytest.fixture
def unanswered(alice, markets, settings):
    settings.ORDER_REPLY_TIMEOUT = 0.05
    settings.READ_YOUR_WRITES_TIMEOUT = 0.05
    from pipeline.client import _local

    _local.__dict__.pop("client", None)  # a client built with the short timeout
    yield Api.for_user(alice)
    _local.__dict__.pop("client", None)


@pytest.mark.usefixtures("api_env")
def test_a_pending_order_is_the_declared_order_when_no_matcher_answers(unanswered):
    resp = unanswered.place(side="buy", price="1", quantity="1", client_order_id="p-1")
    assert resp.status_code == 202
    conforms(resp.json(), OrderOutputSerializer())
    [listed] = unanswered.get("/api/v1/orders").json()
    assert listed["status"] == OrderStatus.PENDING
    conforms(listed, OrderOutputSerializer())


# --- the schema ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_describes_the_fields_the_order_builders_write(client):
    components = client.get("/api/schema", {"format": "json"}).json()["components"]["schemas"]
    for declared in (OrderOutputSerializer, CancelledOrderOutputSerializer, FillOutputSerializer):
        name = declared.__name__.removesuffix("Serializer")
        assert list(components[name]["properties"]) == list(declared().fields), name


# --- the private orders stream ------------------------------------------------------------------

TS = 1_704_277_062_123 * 1_000_000


def _accepted(seq: int, order_id: int, account: int, side: Side, **kw: Any) -> OrderAccepted:
    values: dict[str, Any] = {
        "type": OrderType.LIMIT,
        "time_in_force": TimeInForce.GTC,
        "price": 100,
        "quantity": 5,
        "quote_quantity": None,
        "post_only": False,
        "stp_mode": StpMode.EXPIRE_TAKER,
        "client_order_id": "c-1",
        "stop_price": None,
        "trailing_delta": None,
        "iceberg_quantity": None,
        "expire_time": None,
        "list_id": None,
    }
    values.update(kw)
    return OrderAccepted(seq, "c", TS, order_id, account, "SOL_USDC", side, **values)


def _trade(seq: int, maker_order: int, taker_order: int, lots: int) -> TradeExecuted:
    quote = 100 * lots * 100
    return TradeExecuted(
        seq, "c", TS, "SOL_USDC", 1, 100, lots, quote, Side.BUY, maker_order, taker_order, 1, 2,
        5, "USDC", 7, "SOL", lots, quote, lots, quote,
    )  # fmt: skip


def _fok_rejected(seq: int, order_id: int) -> OrderRejected:
    return OrderRejected(
        seq, "c", TS, order_id, 1, "SOL_USDC", "r", RejectReason.FOK_NOT_FILLABLE, Side.BUY,
        OrderType.LIMIT, TimeInForce.FOK, 99, 1, None, True, StpMode.EXPIRE_BOTH,
    )  # fmt: skip


def test_stream_updates_are_the_declared_update_for_every_kind_of_change():
    # given every kind of order event, for orders this publisher saw placed and orders it did not
    stp = EndReason.SELF_TRADE_PREVENTION
    events: list[Event] = [
        _accepted(1, 10, 1, Side.SELL),
        _accepted(2, 11, 2, Side.BUY, quantity=2, client_order_id=None),
        _trade(3, 10, 11, 2),
        OrderFilled(4, "c", TS, 11, 2, "SOL_USDC", 2, 20000),
        _accepted(
            5,
            12,
            2,
            Side.BUY,
            type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            price=None,
            quantity=None,
            quote_quantity=123456,
        ),
        OrderExpired(6, "c", TS, 12, 2, "SOL_USDC", stp, 0, 0),
        _fok_rejected(7, 13),
        OrderAmended(8, "c", TS, 10, 1, "SOL_USDC", 95, 3, False),
        OrderAmended(9, "c", TS, 98, 1, "SOL_USDC", 95, 3, True),  # placement not seen
        OrderCancelled(10, "c", TS, 10, 1, "SOL_USDC", EndReason.USER_CANCELLED, 2, 20000),
        OrderCancelled(11, "c", TS, 99, 1, "SOL_USDC", EndReason.USER_CANCELLED, 0, 0),
    ]
    publisher = PublisherState(
        "p:", {"SOL_USDC": MarketState("SOL_USDC", Fmt.of(SOL_USDC))}, {"SOL": 9, "USDC": 6}, {}
    )
    # when the publisher builds the frames
    frames = publisher.on_events("s0", events, 0)
    # then every order message is the declared update, its fill the declared fill
    updates = [json.loads(text)["data"] for channel, text in frames if channel.endswith(":orders")]
    kinds = {u["update"] for u in updates}
    assert kinds == {"new", "trade", "filled", "expired", "rejected", "amended", "cancelled"}
    for update in updates:
        conforms(update, OrderUpdateOutputSerializer())
    assert sum(u["fill"] is not None for u in updates) == 2  # the maker's and the taker's
    assert [u["type"] for u in updates if u["order_id"] == 99] == [None]  # null when not seen
