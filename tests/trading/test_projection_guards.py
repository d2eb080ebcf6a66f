"""The persister's order projection holds two guards per row, whatever the checkpoint says: an
event at or below the row's ``last_event_seq`` leaves it as it is, and a status the order's
transition table (trading/transitions.py) does not allow is refused with IllegalTransition,
which halts the shard's persistence on the event (tests/pipeline/test_persister_guards.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from django.db import transaction

from accounts.models import User
from accounts.transitions import IllegalTransition
from matching.events import Event
from tests.support.order_events import ORDER, SYMBOL, accepted, amended, cancelled, filled
from tests.support.pipeline import clear_id_caches
from trading import projections
from trading.models import Market, Order, OrderStatus

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def market(markets: dict[str, Market]) -> Iterator[Market]:
    clear_id_caches()
    yield markets[SYMBOL]
    clear_id_caches()


def apply(*batches: Sequence[Event]) -> None:
    """Each batch as the persister writes it: in a transaction of its own."""
    for events in batches:
        with transaction.atomic():
            projections.apply_events(events)


def row(order_id: int = ORDER) -> tuple[object, ...]:
    return tuple(
        Order.objects.filter(pk=order_id)
        .values_list("status", "price", "quantity", "updated_at", "last_event_seq")
        .get()
    )


def test_a_replayed_amend_leaves_the_order_as_it_is_when_a_later_one_was_applied(
    market: Market, alice: User
) -> None:
    # given an order amended twice, in batches of their own
    apply([accepted(1, alice.pk)], [amended(2, alice.pk, 14000)], [amended(3, alice.pk, 13000)])
    before = row()

    # when the first amend is applied again (past the checkpoint)
    apply([amended(2, alice.pk, 14000)])

    # then the order keeps the later price, time and seq
    assert row() == before
    assert before[4] == 3


def test_a_replayed_cancel_changes_nothing_when_the_order_was_cancelled_by_it(
    market: Market, alice: User
) -> None:
    apply([accepted(1, alice.pk)], [cancelled(2, alice.pk)])
    before = row()

    apply([cancelled(2, alice.pk)])  # no error: the row has seq 2 already

    assert row() == before
    assert before[0] == OrderStatus.CANCELLED


def test_a_fill_is_refused_when_the_order_was_cancelled_in_an_earlier_batch(
    market: Market, alice: User
) -> None:
    apply([accepted(1, alice.pk)], [cancelled(2, alice.pk)])
    before = row()

    with pytest.raises(IllegalTransition, match="is cancelled: event seq 3 cannot make it filled"):
        apply([filled(3, alice.pk)])

    assert row() == before


def test_an_amend_is_refused_when_the_order_was_filled_in_an_earlier_batch(
    market: Market, alice: User
) -> None:
    apply([accepted(1, alice.pk)], [filled(2, alice.pk)])
    before = row()

    with pytest.raises(IllegalTransition, match="is filled: event seq 3 cannot make it changed"):
        apply([amended(3, alice.pk, 14000)])

    assert row() == before


@pytest.mark.parametrize("born_before", [False, True], ids=["new-in-batch", "stored"])
def test_a_fill_is_refused_when_the_order_was_cancelled_earlier_in_the_same_batch(
    market: Market, alice: User, born_before: bool
) -> None:
    if born_before:
        apply([accepted(1, alice.pk)])
        rest: list[Event] = []
    else:
        rest = [accepted(1, alice.pk)]

    with pytest.raises(IllegalTransition, match="is cancelled: event seq 3 cannot make it filled"):
        apply([*rest, cancelled(2, alice.pk), filled(3, alice.pk)])

    assert Order.objects.filter(pk=ORDER, status=OrderStatus.NEW).count() == int(born_before)


def test_an_order_moves_along_its_table_when_the_events_are_in_order(
    market: Market, alice: User
) -> None:
    apply([accepted(1, alice.pk), amended(2, alice.pk, 14000)], [filled(3, alice.pk)])

    assert row()[0] == OrderStatus.FILLED
    assert row()[4] == 3
