"""An event the projections refuse (a status its transition table forbids) is a poisoned event:
the persister writes the entries before it, halts the shard's persistence on it with the event
and the refusal named, and writes nothing after it (docs/reliability.md, "A poisoned event")."""

from __future__ import annotations

import pytest
import redis

from accounts.models import User
from matching.events import Event
from pipeline.persister import Persister, halt_of
from pipeline.transport import PERSISTER_GROUP, EventBatch, EventReader
from tests.support.order_events import ORDER, accepted, amended, cancelled, filled
from tests.support.pipeline import clear_id_caches
from trading.models import EventCheckpoint, Market, Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)

SHARD = "g0"


def test_a_fill_of_a_cancelled_order_halts_the_shard_on_its_event(
    rds: redis.Redis, markets: dict[str, Market], alice: User
) -> None:
    # given four entries: an order accepted, cancelled, then (impossibly) filled, then amended
    clear_id_caches()
    EventCheckpoint.objects.create(stream=SHARD)
    events: list[Event] = [
        accepted(1, alice.pk),
        cancelled(2, alice.pk),
        filled(3, alice.pk),
        amended(4, alice.pk, 14000),
    ]
    entries = [
        EventBatch(f"{ev.seq}-0".encode(), ev.seq, ev.seq, ev.command_id.encode(), [ev])
        for ev in events
    ]
    persister = Persister(EventReader(rds, SHARD, PERSISTER_GROUP, "persister"))

    # when the persister applies them
    persister.apply_or_halt(entries, lambda: False)

    # then it halted on the fill, named with its refusal; the cancel stands, nothing after it
    halt = halt_of(SHARD)
    assert halt is not None and halt.seq == 3 and halt.entry_id == "3-0"
    assert "OrderFilled seq 3 (command c3): IllegalTransition: order 7001 is cancelled" in (
        halt.reason
    )
    assert EventCheckpoint.objects.get(stream=SHARD).last_seq == 2
    assert Order.objects.get(pk=ORDER).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=ORDER).last_event_seq == 2
