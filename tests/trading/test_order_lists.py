"""The order list (OCO) and conditional order shapes: what REST and the ``orders`` stream show
of them is what trading/serializers.py and trading/list_serializers.py declare, field by field
and in order (as tests/trading/test_order_representation.py holds for plain orders), from rows
the persister wrote from hand-built events and from the publisher's own frames."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from django.db import transaction

from accounts.models import User
from marketdata.formatting import Fmt
from marketdata.frames import PublisherState
from marketdata.market_state import MarketState
from matching.errors import EndReason, RejectReason
from matching.events import Event, OrderAmended
from tests.api import Api
from tests.support import order_type_events as ev
from tests.support.pipeline import clear_id_caches
from tests.support.specs import SOL_USDC
from tests.trading.test_order_representation import conforms
from trading import projections
from trading.list_serializers import OrderListOutputSerializer, OrderListUpdateOutputSerializer
from trading.models import Market
from trading.serializers import OrderOutputSerializer, OrderUpdateOutputSerializer


@pytest.fixture
def market(markets: dict[str, Market]) -> Iterator[Market]:
    clear_id_caches()
    yield markets[ev.SYMBOL]
    clear_id_caches()


def apply(*batches: Sequence[Event]) -> None:
    for events in batches:
        with transaction.atomic():
            projections.apply_events(events)


@pytest.mark.usefixtures("api_env")
def test_rest_lists_and_conditional_orders_are_the_declared_shapes_when_read(
    market: Market, alice: User
) -> None:
    # given an OCO whose stop leg triggered (the limit leg cancelled with it), and a lone stop
    apply(
        [ev.list_accepted(1, alice.pk), *ev.list_legs(2, alice.pk)],
        [
            ev.triggered(4, ev.STOP_LEG, alice.pk),
            ev.cancelled(5, ev.LIMIT_LEG, alice.pk),
            ev.accepted(6, ev.STOP, alice.pk, client_order_id="s-1"),
        ],
    )
    api = Api.for_user(alice)
    # when they are read
    one = api.get("/api/v1/order-list", symbol=ev.SYMBOL, list_id=ev.LIST)
    by_client = api.get("/api/v1/order-list", symbol=ev.SYMBOL, client_list_id="oco-1")
    page = api.get("/api/v1/user/order-lists").json()["results"]
    stop = api.get("/api/v1/order", symbol=ev.SYMBOL, client_order_id="s-1").json()
    history = api.get("/api/v1/user/orders", status="untriggered").json()["results"]
    open_orders = api.get("/api/v1/orders").json()
    # then each is the declared shape, with the new fields filled in
    assert one.status_code == 200, one.content
    assert one.json() == by_client.json() == page[0]
    conforms(one.json(), OrderListOutputSerializer())
    listed = one.json()
    assert (listed["status"], listed["contingency_type"]) == ("executing", "oco")
    limit_leg, stop_leg = listed["orders"]
    assert (limit_leg["order_id"], limit_leg["status"], limit_leg["expire_reason"]) == (
        ev.LIMIT_LEG, "cancelled", "order_list",
    )  # fmt: skip
    assert (stop_leg["status"], stop_leg["trigger_price"], stop_leg["list_id"]) == (
        "new", "139.9", ev.LIST,
    )  # fmt: skip
    conforms(stop, OrderOutputSerializer())
    assert (stop["status"], stop["type"], stop["stop_price"]) == (
        "untriggered",
        "stop_limit",
        "140",
    )
    assert [o["order_id"] for o in history] == [ev.STOP]
    assert {o["order_id"] for o in open_orders} == {ev.STOP, ev.STOP_LEG}


@pytest.mark.usefixtures("api_env")
def test_an_unknown_list_is_not_found_when_read(market: Market, alice: User, bob: User) -> None:
    apply([ev.list_accepted(1, bob.pk), *ev.list_legs(2, bob.pk)])  # bob's, not alice's

    resp = Api.for_user(alice).get("/api/v1/order-list", symbol=ev.SYMBOL, list_id=ev.LIST)

    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "order_list_not_found"


def test_stream_updates_of_lists_and_conditional_orders_are_the_declared_updates():
    # given an OCO's life and a conditional order's, as the engine emits them
    events: list[Event] = [
        ev.list_accepted(1, 1),
        *ev.list_legs(2, 1),
        ev.triggered(4, ev.STOP_LEG, 1),
        ev.cancelled(5, ev.LIMIT_LEG, 1),
        ev.cancelled(6, ev.STOP_LEG, 1, EndReason.USER_CANCELLED),
        ev.list_done(7, 1),
        ev.list_rejected(8, 1, RejectReason.WOULD_TRIGGER_IMMEDIATELY),
        ev.accepted(9, ev.STOP, 1, iceberg_quantity=40),
        OrderAmended(10, "c", ev.T0, 77, 1, ev.SYMBOL, 13000, 50, True),  # placement not seen
        ev.triggered(11, 78, 1),  # placement not seen
    ]
    publisher = PublisherState(
        "p:", {"SOL_USDC": MarketState("SOL_USDC", Fmt.of(SOL_USDC))}, {"SOL": 9, "USDC": 6}, {}
    )
    # when the publisher builds the frames
    frames = publisher.on_events("s0", events, 0)
    data = [json.loads(text)["data"] for channel, text in frames if channel.endswith(":orders")]
    orders = [d for d in data if d["e"] == "order"]
    lists = [d for d in data if d["e"] == "order_list"]
    # then every message is the declared update
    for update in orders:
        conforms(update, OrderUpdateOutputSerializer())
    for update in lists:
        conforms(update, OrderListUpdateOutputSerializer())
    assert [(u["update"], u["status"], u["order_ids"]) for u in lists] == [
        ("accepted", "executing", [ev.LIMIT_LEG, ev.STOP_LEG]),
        ("done", "all_done", [ev.LIMIT_LEG, ev.STOP_LEG]),
        ("rejected", "rejected", [ev.LIMIT_LEG, ev.STOP_LEG]),
    ]
    assert lists[2]["reason"] == "would_trigger_immediately"
    by_kind = {(u["order_id"], u["update"]): u for u in orders}
    new_stop = by_kind[(ev.STOP_LEG, "new")]
    assert (new_stop["status"], new_stop["stop_price"], new_stop["list_id"]) == (
        "untriggered", "140.00", ev.LIST,
    )  # fmt: skip
    fired = by_kind[(ev.STOP_LEG, "triggered")]
    assert (fired["status"], fired["trigger_price"], fired["type"]) == (
        "new", "139.90", "stop_market",
    )  # fmt: skip
    assert by_kind[(ev.STOP_LEG, "cancelled")]["trigger_price"] == "139.90"
    assert by_kind[(ev.LIMIT_LEG, "cancelled")]["reason"] == "order_list"
    assert by_kind[(ev.STOP, "new")]["iceberg_quantity"] == "0.40"
    amended = by_kind[(77, "amended")]
    assert (amended["kept_priority"], amended["price"], amended["quantity"]) == (
        True, "130.00", "0.50",
    )  # fmt: skip
    unseen = by_kind[(78, "triggered")]
    assert (unseen["trigger_price"], unseen["stop_price"], unseen["type"]) == (
        "139.90", "140.00", None,
    )  # fmt: skip


@pytest.fixture
def unanswered(alice, markets, settings):
    settings.ORDER_REPLY_TIMEOUT = 0.05
    settings.READ_YOUR_WRITES_TIMEOUT = 0.05
    from pipeline.client import _local

    _local.__dict__.pop("client", None)  # a client built with the short timeout
    yield Api.for_user(alice)
    _local.__dict__.pop("client", None)


@pytest.mark.usefixtures("api_env")
def test_a_pending_oco_and_its_legs_are_the_declared_shapes_when_no_matcher_answers(unanswered):
    body = {
        "symbol": "SOL_USDC", "side": "sell", "quantity": "1", "price": "160",
        "stop_price": "140", "stop_limit_price": "139.5", "client_list_id": "p-oco",
        "limit_client_order_id": "p-limit",
    }  # fmt: skip
    resp = unanswered.post("/api/v1/order-list/oco", body)
    assert resp.status_code == 202, resp.content
    placed = resp.json()
    conforms(placed, OrderListOutputSerializer())
    assert placed["status"] == "pending"
    limit_leg, stop_leg = placed["orders"]
    assert (limit_leg["type"], limit_leg["price"], limit_leg["client_order_id"]) == (
        "limit", "160", "p-limit",
    )  # fmt: skip
    assert (stop_leg["type"], stop_leg["price"], stop_leg["stop_price"]) == (
        "stop_limit", "139.5", "140",
    )  # fmt: skip
    assert limit_leg["list_id"] == stop_leg["list_id"] == placed["list_id"]
    # read back while pending: the list by either id, its legs among the open orders
    by_id = unanswered.get("/api/v1/order-list", symbol="SOL_USDC", list_id=placed["list_id"])
    by_client = unanswered.get("/api/v1/order-list", symbol="SOL_USDC", client_list_id="p-oco")
    assert by_id.json() == by_client.json() == placed
    listed = unanswered.get("/api/v1/orders").json()
    assert {o["order_id"] for o in listed} == {limit_leg["order_id"], stop_leg["order_id"]}
    for order in listed:
        conforms(order, OrderOutputSerializer())


@pytest.mark.usefixtures("api_env")
def test_a_pending_conditional_order_shows_its_new_fields_when_no_matcher_answers(unanswered):
    resp = unanswered.place(
        side="buy", type="stop_market", quantity="1", trailing_delta=150,
        time_in_force="GTD", expire_time=4_102_444_800_000,
    )  # fmt: skip
    assert resp.status_code == 202, resp.content
    order = resp.json()
    conforms(order, OrderOutputSerializer())
    assert (order["type"], order["trailing_delta"], order["expire_time"], order["price"]) == (
        "stop_market", 150, 4_102_444_800_000, None,
    )  # fmt: skip
