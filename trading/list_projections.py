"""Order list (OCO) projections, written only by the persister (with trading/projections.py,
in its transaction).

A list's row is born from OrderListAccepted (``executing``) or OrderListRejected
(``rejected``) and moves once, to ``all_done``, with OrderListDone; its legs are Order rows
whose ``list_id`` the legs' own OrderAccepted carry. The guards are the orders': an event at or
below the row's ``last_event_seq`` is a no-op (a replay), and a move the table of
trading/transitions.py does not allow raises ``IllegalTransition`` (the shard halts on it).
"""

from __future__ import annotations

from typing import Any

from accounts.transitions import refuse_transition
from common import bulk
from common.clock import ns_to_datetime
from matching.errors import RejectReason
from matching.events import OrderListAccepted, OrderListDone, OrderListRejected
from trading.models import ContingencyType, ListStatus, OrderList
from trading.specs import cached_market
from trading.transitions import LIST_TRANSITIONS

_LIST_COLUMNS = (
    "id",
    "client_list_id",
    "user_id",
    "market_id",
    "contingency_type",
    "status",
    "reject_reason",
    "created_at",
    "updated_at",
    "last_event_seq",
)


def _may_end(status: str) -> bool:
    return ListStatus.ALL_DONE in LIST_TRANSITIONS.get(status, ())


class ListBatch:
    """The lists of one persister batch: rows born in it, and (seq, ns) of the stored ones it
    ends. Lists are few (one per OCO), so their writes are plain statements."""

    def __init__(self) -> None:
        self.new: dict[int, dict[str, Any]] = {}
        self.ended: dict[int, tuple[int, int]] = {}

    def accepted(self, ev: OrderListAccepted) -> None:
        self.new[ev.list_id] = _new_list(ev, ListStatus.EXECUTING, "")

    def rejected(self, ev: OrderListRejected) -> None:
        # A repeated PlaceOrderList is refused because its id is taken: that row is the
        # original list, which this rejection must not touch.
        if ev.reason == RejectReason.DUPLICATE_LIST_ID:
            return
        self.new[ev.list_id] = _new_list(ev, ListStatus.REJECTED, str(ev.reason))

    def done(self, ev: OrderListDone) -> None:
        born = self.new.get(ev.list_id)
        if born is None:
            self.ended[ev.list_id] = (ev.seq, ev.ts)
            return
        if not _may_end(born["status"]):
            refuse_transition("order list", ev.list_id, born["status"], "all_done", ev.seq)
        born.update(
            status=ListStatus.ALL_DONE, updated_at=bulk.time_text(ev.ts), last_event_seq=ev.seq
        )

    def flush(self) -> None:
        """Before the orders: the legs refer to their list."""
        if self.new:
            bulk.insert_rows(
                OrderList,
                _LIST_COLUMNS,
                [tuple(row[name] for name in _LIST_COLUMNS) for row in self.new.values()],
            )
        for list_id, (seq, ts) in self.ended.items():
            changed = OrderList.objects.filter(
                id=list_id, status=ListStatus.EXECUTING, last_event_seq__lt=seq
            ).update(status=ListStatus.ALL_DONE, updated_at=ns_to_datetime(ts), last_event_seq=seq)
            if changed:
                continue
            row = OrderList.objects.filter(id=list_id).values_list("status", "last_event_seq")
            found = row.first()
            if found is not None and found[1] < seq and not _may_end(found[0]):
                refuse_transition("order list", list_id, found[0], ListStatus.ALL_DONE, seq)


def _new_list(
    ev: OrderListAccepted | OrderListRejected, status: str, reason: str
) -> dict[str, Any]:
    market_id = cached_market(ev.symbol)[0]
    when = bulk.time_text(ev.ts)
    return {
        "id": ev.list_id,
        "client_list_id": ev.client_list_id,
        "user_id": ev.account,
        "market_id": market_id,
        "contingency_type": ContingencyType.OCO.value,
        "status": status,
        "reject_reason": reason,
        "created_at": when,
        "updated_at": when,
        "last_event_seq": ev.seq,
    }
