"""The persister's projections of the order types of issue 19: a conditional order is born
untriggered and becomes new with its trigger; an OCO's list row is born with its legs and ends
all_done; the transition tables (trading/transitions.py) refuse what the contract does not
allow, and a replay changes nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import User
from accounts.transitions import IllegalTransition
from matching.errors import RejectReason
from matching.events import Event
from tests.support import order_type_events as ev
from tests.support.pipeline import clear_id_caches
from trading import projections
from trading.models import ListStatus, Market, Order, OrderList, OrderStatus

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

D = Decimal


@pytest.fixture
def market(markets: dict[str, Market]) -> Iterator[Market]:
    clear_id_caches()
    yield markets[ev.SYMBOL]
    clear_id_caches()


def apply(*batches: Sequence[Event]) -> None:
    """Each batch as the persister writes it: in a transaction of its own."""
    for events in batches:
        with transaction.atomic():
            projections.apply_events(events)


def test_a_conditional_order_is_recorded_untriggered_with_its_stop_when_accepted(
    market: Market, alice: User
) -> None:
    expire_ms = 1_900_000_000_123
    apply([ev.accepted(1, ev.STOP, alice.pk, iceberg_quantity=40, expire_time=expire_ms,
                       time_in_force="GTD")])  # fmt: skip

    order = Order.objects.get(pk=ev.STOP)
    assert order.status == OrderStatus.UNTRIGGERED
    assert order.type == "stop_limit"
    assert (order.stop_price, order.price, order.iceberg_quantity) == (D(140), D("139.5"), D("0.4"))
    assert order.expire_time is not None
    assert int(order.expire_time.timestamp() * 1000) == expire_ms
    assert order.trigger_price is None and order.triggered_at is None and order.list_id is None


def test_a_triggered_order_becomes_new_with_its_trigger_price_when_triggered_later(
    market: Market, alice: User
) -> None:
    apply([ev.accepted(1, ev.STOP, alice.pk)], [ev.triggered(2, ev.STOP, alice.pk)])

    order = Order.objects.get(pk=ev.STOP)
    assert order.status == OrderStatus.NEW
    assert (order.trigger_price, order.stop_price) == (D("139.9"), D(140))
    assert order.triggered_at is not None
    assert order.type == "stop_limit"  # it keeps the type it was placed with


def test_a_triggered_order_fills_in_the_same_batch_when_its_trades_follow_the_trigger(
    market: Market, alice: User, bob: User
) -> None:
    # given bob's resting buy, and alice's stop triggered and filled against it in one batch
    bid = 8300
    apply(
        [ev.accepted(1, bid, bob.pk, side="buy", type="limit", stop_price=None)],
        [
            ev.accepted(2, ev.STOP, alice.pk),
            ev.triggered(3, ev.STOP, alice.pk),
            ev.trade(4, bid, ev.STOP, bob.pk, alice.pk),
            ev.filled(5, ev.STOP, alice.pk),
            ev.filled(6, bid, bob.pk),
        ],
    )

    order = Order.objects.get(pk=ev.STOP)
    assert order.status == OrderStatus.FILLED
    assert order.trigger_price == D("139.9")
    assert order.filled_quantity == D(1)


def test_a_trigger_is_refused_when_the_order_already_ended(market: Market, alice: User) -> None:
    apply([ev.accepted(1, ev.STOP, alice.pk)], [ev.cancelled(2, ev.STOP, alice.pk)])

    with pytest.raises(IllegalTransition, match="is cancelled: event seq 3 cannot make it new"):
        apply([ev.triggered(3, ev.STOP, alice.pk)])


def test_a_replayed_trigger_changes_nothing_when_it_was_applied(
    market: Market, alice: User
) -> None:
    apply([ev.accepted(1, ev.STOP, alice.pk)], [ev.triggered(2, ev.STOP, alice.pk)])
    before = Order.objects.values_list("status", "trigger_price", "last_event_seq").get()

    apply([ev.triggered(2, ev.STOP, alice.pk)])

    assert Order.objects.values_list("status", "trigger_price", "last_event_seq").get() == before


def test_an_oco_is_recorded_executing_with_both_legs_when_accepted(
    market: Market, alice: User
) -> None:
    apply([ev.list_accepted(1, alice.pk), *ev.list_legs(2, alice.pk)])

    listed = OrderList.objects.get(pk=ev.LIST)
    assert (listed.status, listed.client_list_id, listed.user_id) == (
        ListStatus.EXECUTING, "oco-1", alice.pk,
    )  # fmt: skip
    legs = {o.pk: o for o in Order.objects.filter(list_id=ev.LIST)}
    assert legs[ev.LIMIT_LEG].status == OrderStatus.NEW
    assert legs[ev.STOP_LEG].status == OrderStatus.UNTRIGGERED
    assert legs[ev.STOP_LEG].type == "stop_market"


def test_an_oco_ends_all_done_when_its_legs_end_in_a_later_batch(
    market: Market, alice: User
) -> None:
    apply(
        [ev.list_accepted(1, alice.pk), *ev.list_legs(2, alice.pk)],
        [
            ev.cancelled(4, ev.LIMIT_LEG, alice.pk),
            ev.cancelled(5, ev.STOP_LEG, alice.pk),
            ev.list_done(6, alice.pk),
        ],
    )

    listed = OrderList.objects.get(pk=ev.LIST)
    assert (listed.status, listed.last_event_seq) == (ListStatus.ALL_DONE, 6)
    assert set(Order.objects.values_list("expire_reason", flat=True)) == {"order_list"}


def test_an_oco_ends_all_done_when_born_and_done_in_one_batch(market: Market, alice: User) -> None:
    apply(
        [
            ev.list_accepted(1, alice.pk),
            *ev.list_legs(2, alice.pk),
            ev.cancelled(4, ev.LIMIT_LEG, alice.pk),
            ev.cancelled(5, ev.STOP_LEG, alice.pk),
            ev.list_done(6, alice.pk),
        ]
    )

    assert OrderList.objects.get(pk=ev.LIST).status == ListStatus.ALL_DONE


def test_a_replayed_list_end_changes_nothing_when_it_was_applied(
    market: Market, alice: User
) -> None:
    apply([ev.list_accepted(1, alice.pk), *ev.list_legs(2, alice.pk)], [ev.list_done(6, alice.pk)])

    apply([ev.list_done(6, alice.pk)])  # no error: the row has seq 6 already

    assert OrderList.objects.get(pk=ev.LIST).last_event_seq == 6


def test_a_rejected_oco_is_recorded_rejected_without_legs_when_refused(
    market: Market, alice: User
) -> None:
    apply([ev.list_rejected(1, alice.pk, RejectReason.WOULD_TRIGGER_IMMEDIATELY)])

    listed = OrderList.objects.get(pk=ev.LIST)
    assert (listed.status, listed.reject_reason) == (
        ListStatus.REJECTED, "would_trigger_immediately",
    )  # fmt: skip
    assert not Order.objects.exists()


def test_a_rejected_list_is_never_done(market: Market, alice: User) -> None:
    apply([ev.list_rejected(1, alice.pk, RejectReason.INSUFFICIENT_FUNDS)])

    with pytest.raises(IllegalTransition, match="is rejected: event seq 2 cannot make it all_done"):
        apply([ev.list_done(2, alice.pk)])


def test_a_duplicate_list_rejection_leaves_the_original_list_alone(
    market: Market, alice: User
) -> None:
    apply([ev.list_accepted(1, alice.pk), *ev.list_legs(2, alice.pk)])

    apply([ev.list_rejected(4, alice.pk, RejectReason.DUPLICATE_LIST_ID)])

    assert OrderList.objects.get(pk=ev.LIST).status == ListStatus.EXECUTING
