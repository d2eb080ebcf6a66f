"""GTD orders and the ``Tick`` command (docs/order-types.md, "GTD").

Decided semantics (see ``matching.engine`` for the rest of the contract)
------------------------------------------------------------------------
*Validation.* ``expire_time`` (unix ms) is required with ``time_in_force`` GTD and refused with
any other; it must be within 1..``MAX_EXPIRE_TIME_MS`` (9999-12-31, the last millisecond a
``datetime`` holds: the persister stores it as one) and after the command's own time
(``expire_time x 1,000,000 > ts``); else ``invalid_expire_time``. These checks come after an
ordinary order's and the iceberg's. A market order is checked the same way (its
``time_in_force`` is still ignored: it never rests).

*Resting.* A GTD order rests like a GTC one (post_only and icebergs too) and is entered in the
expiry index when it rests: a heap of ``(expire_time, order_id)`` in ``EngineState.expiries``.
An order that ends before its expiry (filled, cancelled, expired otherwise) is not taken out:
its entry is skipped when it comes up (lazy deletion), and the heap is compacted when it has
grown to twice its size after the last compaction (never below ``COMPACT_FLOOR``), so ended
orders with far expiries cannot pile up.

*Tick.* ``Tick(ts)`` expires every indexed order still open with ``expire_time x 1,000,000 <=
ts``, in ``(expire_time, order_id)`` order, whatever its market's status (a halted market's
orders expire too, as they may be cancelled): ``OrderExpired(gtd_expired)`` and its ``release``
(cause ``o:<order_id>``) per order, then one ``BookChanged`` per market whose book changed, in
the order the markets were first touched. A Tick with nothing due emits nothing. The engine
reads no clock: the matcher logs a Tick when :func:`next_expiry_ns` is due by its clock
(pipeline/worker.py), so a replay expires the same orders at the same place in the stream.

Orders that wait outside the book (untriggered conditional GTD orders)
---------------------------------------------------------------------
The index holds order ids, not orders: ``matching.conditional`` calls :func:`remember_expiry`
for an untriggered GTD order at acceptance. :func:`expiry_open` (is the order still open in any
state?) and :func:`expire_order` (end it, whatever its state: a resting order leaves its book;
an untriggered one leaves the trigger index and releases its hold, ``OrderExpired``) know both
kinds. An order indexed at acceptance and again when it rests after its trigger has two
entries with one id: the second is skipped as ended.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Final

from matching.commands import PlaceOrder, Tick
from matching.errors import EndReason, EngineInvariantError, RejectReason
from matching.events import Event, OrderExpired
from matching.state import EngineState, Touched
from matching.types import Side, TimeInForce

NS_PER_MS: Final = 1_000_000
MAX_EXPIRE_TIME_MS: Final = 253_402_300_799_999
COMPACT_FLOOR: Final = 1024

BUY: Final = Side.BUY
GTD: Final = TimeInForce.GTD
GTD_EXPIRED: Final = EndReason.GTD_EXPIRED


def expire_time_refusal(command: PlaceOrder) -> RejectReason | None:
    """Why ``command``'s ``expire_time`` / GTD is refused, or None."""
    expire_time = command.expire_time
    if expire_time is None:
        return RejectReason.INVALID_EXPIRE_TIME if command.time_in_force is GTD else None
    if (
        command.time_in_force is not GTD
        or not 0 < expire_time <= MAX_EXPIRE_TIME_MS
        or expire_time * NS_PER_MS <= command.ts
    ):
        return RejectReason.INVALID_EXPIRE_TIME
    return None


def remember_expiry(engine: EngineState, expire_time: int, order_id: int) -> None:
    """Enter a GTD order in the expiry index."""
    heap = engine.expiries
    if len(heap) >= engine.expiries_compact_at:
        heap[:] = [entry for entry in heap if expiry_open(engine, entry[1])]
        heapify(heap)
        engine.expiries_compact_at = max(COMPACT_FLOOR, 2 * len(heap))
    heappush(heap, (expire_time, order_id))


def expiry_open(engine: EngineState, order_id: int) -> bool:
    """Is the indexed order ``order_id`` still open (so its expiry still matters)?"""
    return order_id in engine.open_orders_by_id or order_id in engine.cond.by_id


def expire_order(
    engine: EngineState,
    order_id: int,
    events: list[Event],
    touched: Touched,
    command_id: str,
    ts: int,
) -> bool:
    """End order ``order_id`` as ``gtd_expired`` whatever state it is in; False when it has
    already ended. A resting order's price is recorded in ``touched`` for the BookChanged."""
    order = engine.open_orders_by_id.get(order_id)
    if order is None:
        cond = engine.cond.by_id.get(order_id)
        if cond is None:
            return False
        # imported here: matching.conditional indexes GTD orders through this module
        from matching.conditional import end_untriggered

        market = engine.markets_by_symbol[cond.symbol]
        end_untriggered(engine, market, cond, GTD_EXPIRED, events, command_id, ts, OrderExpired)
        return True
    bids, asks = touched.setdefault(order.symbol, ({}, {}))
    (bids if order.side is BUY else asks)[order.price] = None
    market = engine.markets_by_symbol[order.symbol]
    engine.end_resting(market, order, OrderExpired, GTD_EXPIRED, events, command_id, ts)
    return True


def tick(engine: EngineState, command: Tick) -> list[Event]:
    """Expire every GTD order due by ``command.ts``; see the module docstring."""
    heap = engine.expiries
    ts = command.ts
    if not heap or heap[0][0] * NS_PER_MS > ts:
        return []
    command_id = command.command_id
    events: list[Event] = []
    touched: Touched = {}
    while heap and heap[0][0] * NS_PER_MS <= ts:
        _expire_time, order_id = heappop(heap)
        expire_order(engine, order_id, events, touched, command_id, ts)
    engine.books_changed(touched, events, command_id, ts)
    return events


def next_expiry_ns(engine: EngineState) -> int | None:
    """When (ns) the earliest open GTD order is due, or None; drops ended orders' entries from
    the top of the heap on the way (what a Tick would skip: no change to what it does)."""
    heap = engine.expiries
    while heap and not expiry_open(engine, heap[0][1]):
        heappop(heap)
    return heap[0][0] * NS_PER_MS if heap else None


def open_expiries(engine: EngineState) -> list[tuple[int, int]]:
    """The index's entries of open orders, sorted and unique: its canonical form (snapshot)."""
    return sorted({entry for entry in engine.expiries if expiry_open(engine, entry[1])})


def check_expiries(engine: EngineState) -> None:
    """The expiry index's invariants: a heap; every resting GTD order indexed at its expire
    time; every entry of a resting order at that order's expire time."""
    heap = engine.expiries
    for i in range(1, len(heap)):
        if heap[(i - 1) // 2] > heap[i]:
            raise EngineInvariantError("expiry index is not a heap")
    entries = set(heap)
    for order_id, order in engine.open_orders_by_id.items():
        if order.expire_time and (order.expire_time, order_id) not in entries:
            raise EngineInvariantError(f"GTD order {order_id} not in the expiry index")
    for expire_time, order_id in entries:
        resting = engine.open_orders_by_id.get(order_id)
        if resting is not None and resting.expire_time != expire_time:
            raise EngineInvariantError(f"expiry index wrong for order {order_id}")
