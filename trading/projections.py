"""Order, trade and market projections, written only by the persister.

``apply_events`` runs inside the persister's transaction with its checkpoint. It folds a batch
into its final per-order state in memory first, so an order born and filled within one batch is
one INSERT, and an existing order one UPDATE, however many events touched it.

Two guards hold per order row, whatever the checkpoint says (``_update_orders``):

- an event at or below the row's ``last_event_seq`` was applied already: the row is left as it
  is (a replayed event is a no-op);
- every status a later event gives an order must be allowed by ``trading/transitions.py``
  from the status it has (in the batch's fold, and in the stored row, checked in the UPDATE
  itself): an event that is not raises ``IllegalTransition`` and the shard's persistence halts
  on it.

Rows events create (orders, trades) are keyed by the events' ids: a replayed creation is
refused by the primary or unique key, never written twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

from accounts.models import Asset
from accounts.transitions import IllegalTransition, refuse_transition
from common import bulk
from matching.arith import fixed
from matching.errors import RejectReason
from matching.events import (
    Event,
    MarketAdded,
    MarketStatusChanged,
    MarketUpdated,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderListAccepted,
    OrderListDone,
    OrderListRejected,
    OrderRejected,
    OrderTriggered,
    TradeExecuted,
)
from matching.types import MarketSpec
from trading.list_projections import ListBatch
from trading.models import CONDITIONAL_TYPES, Market, Order, OrderStatus, Trade
from trading.specs import cached_market, cached_scales
from trading.transitions import order_may_become, order_may_become_sql

_ORDER_COLUMNS = (
    "id",
    "client_order_id",
    "user_id",
    "market_id",
    "side",
    "type",
    "time_in_force",
    "post_only",
    "stp_mode",
    "price",
    "quantity",
    "quote_quantity",
    "stop_price",
    "trailing_delta",
    "iceberg_quantity",
    "expire_time",
    "list_id",
    "trigger_price",
    "triggered_at",
    "filled_quantity",
    "filled_quote",
    "status",
    "reject_reason",
    "expire_reason",
    "created_at",
    "updated_at",
    "last_event_seq",
)


_TRADE_COLUMNS = (
    "market_id",
    "trade_id",
    "price",
    "quantity",
    "quote_quantity",
    "maker_order_id",
    "taker_order_id",
    "maker_user_id",
    "taker_user_id",
    "taker_side",
    "maker_fee",
    "maker_fee_asset_id",
    "taker_fee",
    "taker_fee_asset_id",
    "executed_at",
)


class _Batch:
    """Rows as plain dicts of column values (no model instances: the ORM's per-instance cost
    was most of the persister's CPU, see common/bulk.py)."""

    def __init__(self) -> None:
        self.new: dict[int, dict[str, Any]] = {}
        self.changes: dict[int, dict[str, Any]] = {}
        # Per changed order: the seq of its first event in the batch and the first status the
        # batch gives it (None: none yet), which its stored row must allow.
        self.entry: dict[int, list[Any]] = {}
        self.trades: list[tuple[Any, ...]] = []
        self.lists = ListBatch()  # order lists (OCOs), trading/list_projections.py

    def move(self, order_id: int, seq: int, status: str | None, **fields: Any) -> None:
        """Fold event ``seq``'s ``fields`` (and ``status``, None: unchanged) into the order."""
        order = self.new.get(order_id)
        if order is None:
            order = self.changes.get(order_id)
            if order is None:
                order = self.changes[order_id] = {}
                self.entry[order_id] = [seq, status]
            elif self.entry[order_id][1] is None:
                self.entry[order_id][1] = status
        current = order.get("status")
        if current is not None and not order_may_become(current, status):
            refuse_transition("order", order_id, current, status or "changed", seq)
        order.update(fields)
        order["last_event_seq"] = seq
        if status is not None:
            order["status"] = status


# Values are written as text (common/bulk.py): money by integer arithmetic, exactly.


def _price(spec: MarketSpec, ticks: int | None) -> str | None:
    return None if ticks is None else cached_scales(spec.symbol).price(ticks)


def _qty(spec: MarketSpec, lots: int | None) -> str | None:
    return None if lots is None else cached_scales(spec.symbol).quantity(lots)


def _quote(spec: MarketSpec, atoms: int | None) -> str | None:
    return None if atoms is None else fixed(atoms, spec.quote.decimals)


def _fills(spec: MarketSpec, lots: int, quote_atoms: int) -> dict[str, Any]:
    return {
        "filled_quantity": cached_scales(spec.symbol).quantity(lots),
        "filled_quote": fixed(quote_atoms, spec.quote.decimals),
    }


def _new_order(ev: OrderAccepted | OrderRejected, status: str, reason: str) -> dict[str, Any]:
    market_id, spec, _, _ = cached_market(ev.symbol)
    when = bulk.time_text(ev.ts)
    return {
        "id": ev.order_id,
        "client_order_id": ev.client_order_id,
        "user_id": ev.account,
        "market_id": market_id,
        "side": str(ev.side),
        "type": str(ev.type),
        "time_in_force": str(ev.time_in_force),
        "post_only": ev.post_only,
        "stp_mode": str(ev.stp_mode),
        "price": _price(spec, ev.price),
        "quantity": _qty(spec, ev.quantity),
        "quote_quantity": _quote(spec, ev.quote_quantity),
        "stop_price": _price(spec, ev.stop_price),
        "trailing_delta": ev.trailing_delta,
        "iceberg_quantity": _qty(spec, ev.iceberg_quantity),
        # unix ms; as ns for the one time format of the bulk writes
        "expire_time": None if ev.expire_time is None else bulk.time_text(ev.expire_time * MS),
        "list_id": ev.list_id,
        "trigger_price": None,
        "triggered_at": None,
        "filled_quantity": "0",
        "filled_quote": "0",
        "status": status,
        "reject_reason": reason,
        "expire_reason": "",
        "created_at": when,
        "updated_at": when,
        "last_event_seq": ev.seq,
    }


MS = 1_000_000  # ns per ms


def _trade(ev: TradeExecuted) -> tuple[Any, ...]:
    market_id, spec, base_id, quote_id = cached_market(ev.symbol)
    asset_ids = {spec.base.code: (base_id, spec.base.decimals)}
    asset_ids[spec.quote.code] = (quote_id, spec.quote.decimals)
    maker_asset, maker_dec = asset_ids[ev.maker_fee_asset]
    taker_asset, taker_dec = asset_ids[ev.taker_fee_asset]
    return (  # in _TRADE_COLUMNS order
        market_id,
        ev.trade_id,
        cached_scales(spec.symbol).price(ev.price),
        cached_scales(spec.symbol).quantity(ev.quantity),
        fixed(ev.quote_amount, spec.quote.decimals),
        ev.maker_order_id,
        ev.taker_order_id,
        ev.maker_account,
        ev.taker_account,
        str(ev.taker_side),
        fixed(ev.maker_fee, maker_dec),
        maker_asset,
        fixed(ev.taker_fee, taker_dec),
        taker_asset,
        bulk.time_text(ev.ts),
    )


def apply_events(events: Sequence[Event]) -> None:
    batch = _Batch()
    for ev in events:
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(batch, ev)
    _flush(batch)


def _on_accepted(batch: _Batch, ev: OrderAccepted) -> None:
    # The row is born with the engine's first answer, new, untriggered for a conditional order
    # (or rejected, below): the table's moves out of the API's pending placeholder. Every later
    # status goes through ``move``.
    status = OrderStatus.UNTRIGGERED if ev.type in CONDITIONAL_TYPES else OrderStatus.NEW
    batch.new[ev.order_id] = _new_order(ev, status, "")


def _on_triggered(batch: _Batch, ev: OrderTriggered) -> None:
    # It keeps the type it was placed with (stop_limit, ...): its status says it was triggered.
    # stop_price is the one that fired: a trailing stop's is known only now.
    _, spec, _, _ = cached_market(ev.symbol)
    when = bulk.time_text(ev.ts)
    batch.move(
        ev.order_id,
        ev.seq,
        OrderStatus.NEW,
        stop_price=_price(spec, ev.stop_price),
        trigger_price=_price(spec, ev.trigger_price),
        triggered_at=when,
        updated_at=when,
    )


def _on_rejected(batch: _Batch, ev: OrderRejected) -> None:
    # A repeated PlaceOrder is refused because its id is taken: that id's row is the original
    # order, which this rejection must not touch.
    if ev.reason == RejectReason.DUPLICATE_ORDER_ID:
        return
    batch.new[ev.order_id] = _new_order(ev, OrderStatus.REJECTED, str(ev.reason))


def _on_market_status(batch: _Batch, ev: MarketStatusChanged) -> None:
    Market.objects.filter(symbol=ev.symbol).update(status=str(ev.status))


def _on_market_spec(batch: _Batch, ev: MarketAdded | MarketUpdated) -> None:
    """The engine's market becomes the row: an operator's change (trading.services) reaches the
    database only once the matcher has applied it, so the two never disagree. Written at once,
    not with the batch's rows: the events after it in this batch may be the market's first
    orders, which refer to the row, and this process's cached spec is dropped here so they are
    converted with the new one."""
    spec = ev.spec
    assets = dict(
        Asset.objects.filter(code__in=(spec.base.code, spec.quote.code)).values_list("code", "id")
    )
    Market.objects.update_or_create(
        symbol=spec.symbol,
        defaults={
            "base_id": assets[spec.base.code],
            "quote_id": assets[spec.quote.code],
            "tick_size": spec.tick_size,
            "lot_size": spec.lot_size,
            "min_notional": spec.min_notional,
            "maker_fee_rate": spec.maker_fee_rate,
            "taker_fee_rate": spec.taker_fee_rate,
            "status": str(spec.status),
        },
    )
    cached_market.forget(spec.symbol)


def _on_trade(batch: _Batch, ev: TradeExecuted) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.trades.append(_trade(ev))
    when = bulk.time_text(ev.ts)
    for order_id, lots, quote in (
        (ev.maker_order_id, ev.maker_filled, ev.maker_filled_quote),
        (ev.taker_order_id, ev.taker_filled, ev.taker_filled_quote),
    ):
        batch.move(
            order_id,
            ev.seq,
            OrderStatus.PARTIALLY_FILLED,
            updated_at=when,
            **_fills(spec, lots, quote),
        )


_END_STATUS = {
    OrderFilled: OrderStatus.FILLED,
    OrderCancelled: OrderStatus.CANCELLED,
    OrderExpired: OrderStatus.EXPIRED,
}


def _on_end(batch: _Batch, ev: OrderFilled | OrderCancelled | OrderExpired) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.move(
        ev.order_id,
        ev.seq,
        _END_STATUS[type(ev)],
        expire_reason="" if type(ev) is OrderFilled else str(ev.reason),  # type: ignore[union-attr]
        updated_at=bulk.time_text(ev.ts),
        **_fills(spec, ev.filled_quantity, ev.filled_quote),
    )


def _on_amend(batch: _Batch, ev: OrderAmended) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.move(
        ev.order_id,
        ev.seq,
        None,
        price=cached_scales(spec.symbol).price(ev.price),
        quantity=cached_scales(spec.symbol).quantity(ev.quantity),
        updated_at=bulk.time_text(ev.ts),
    )


_HANDLERS: dict[type, Callable[[_Batch, Any], None]] = {
    OrderAccepted: _on_accepted,
    OrderRejected: _on_rejected,
    TradeExecuted: _on_trade,
    OrderFilled: _on_end,
    OrderCancelled: _on_end,
    OrderExpired: _on_end,
    OrderAmended: _on_amend,
    OrderTriggered: _on_triggered,
    OrderListAccepted: lambda batch, ev: batch.lists.accepted(ev),
    OrderListRejected: lambda batch, ev: batch.lists.rejected(ev),
    OrderListDone: lambda batch, ev: batch.lists.done(ev),
    MarketStatusChanged: _on_market_status,
    MarketAdded: _on_market_spec,
    MarketUpdated: _on_market_spec,
}


def _flush(batch: _Batch) -> None:
    # Lists before their legs, orders before trades: a trade refers to both of its orders.
    batch.lists.flush()
    if batch.new:
        bulk.insert_rows(
            Order,
            _ORDER_COLUMNS,
            [tuple(row[name] for name in _ORDER_COLUMNS) for row in batch.new.values()],
        )
    bulk.insert_rows(Trade, _TRADE_COLUMNS, batch.trades)
    if batch.changes:
        _update_orders(batch)


def _update_orders(batch: _Batch) -> None:
    """Write the changed orders, each only if its stored row has none of the batch's events
    yet and its status allows the batch's first one (trading/transitions.py).

    On PostgreSQL both conditions are in the UPDATE (one statement per set of changed
    columns, as before the guards); only when it changes fewer rows than it was given are the
    rows read to tell a replay or a missing row (left alone, as before) from an illegal move
    (raised). Elsewhere (SQLite) the rows are read first (SQLite serialises writers)."""
    by_fields: dict[tuple[str, ...], list[int]] = {}
    for order_id, fields in batch.changes.items():
        by_fields.setdefault(tuple(sorted(fields)), []).append(order_id)
    if connection.vendor != "postgresql":
        stored = _stored(list(batch.changes))
        for names, ids in by_fields.items():
            rows = [_values(batch, i, names) for i in ids if _applies(batch, i, stored)]
            bulk.update_rows(Order, "id", names, rows)
        return
    for names, ids in by_fields.items():
        rows = [_values(batch, i, names) for i in ids]
        columns = [bulk.array_text(column) for column in zip(*rows, strict=True)]
        columns.append(bulk.array_text(batch.entry[i][1] for i in ids))
        columns.append(bulk.array_text(batch.entry[i][0] for i in ids))
        columns.append(columns[0])  # the ids again, for the index (_guarded_update_sql)
        with connection.cursor() as cursor:
            cursor.execute(_guarded_update_sql(names), columns)
            changed = cursor.rowcount
        if changed < len(ids):
            stored = _stored(ids)
            for order_id in ids:
                _applies(batch, order_id, stored)  # raises for an illegal move


def _values(batch: _Batch, order_id: int, names: tuple[str, ...]) -> tuple[Any, ...]:
    fields = batch.changes[order_id]
    return (order_id, *(fields[name] for name in names))


def _stored(ids: list[int]) -> dict[int, tuple[str, int]]:
    rows = Order.objects.filter(id__in=ids).values_list("id", "status", "last_event_seq")
    return {order_id: (status, seq) for order_id, status, seq in rows}


def _applies(batch: _Batch, order_id: int, stored: dict[int, tuple[str, int]]) -> bool:
    """Whether the batch's change applies to the stored order: False for a missing row or one
    that has the batch's events already; IllegalTransition if it must not."""
    row = stored.get(order_id)
    if row is None:
        return False
    status, seq = row
    first_seq, entry = batch.entry[order_id]
    last_seq = batch.changes[order_id]["last_event_seq"]
    if seq >= last_seq:
        return False  # applied already (or by this very statement)
    if seq >= first_seq:
        raise IllegalTransition(
            f"order {order_id} has event seq {seq} applied, within this batch's events"
            f" {first_seq}..{last_seq} for it: the database and the event log disagree"
        )
    if not order_may_become(status, entry):
        refuse_transition("order", order_id, status, entry or "changed", first_seq)
    return True


@functools.cache
def _guarded_update_sql(names: tuple[str, ...]) -> str:
    """``UPDATE ... FROM unnest(<one array per column>)`` for these columns, guarded.

    ``t.id = ANY(<the ids>)`` repeats the join's condition so the planner finds the rows by
    the primary key: given only the join, it takes unnest for 100 rows and, on a table of a few
    thousand orders, hashes them against a sequential scan of the whole table (2.6 ms against
    0.5 ms for 40 rows of 10,000, EXPLAIN ANALYZE)."""
    fields = [Order._meta.get_field(name) for name in ("id", *names)]
    if not all(isinstance(field, models.Field) for field in fields):
        raise TypeError(f"not all columns: {names}")
    columns = [f'"{field.column}"' for field in fields]  # type: ignore[union-attr]
    types = [field.db_type(connection) for field in fields]  # type: ignore[union-attr]
    arrays = ", ".join(f"%s::{db_type}[]" for db_type in (*types, "varchar(16)", "bigint"))
    sets = ", ".join(f"{col} = v.{col}" for col in columns[1:])
    return (
        f'UPDATE "{Order._meta.db_table}" AS t SET {sets} '  # noqa: S608
        f"FROM unnest({arrays}) AS v({', '.join(columns)}, entry_status, first_seq) "
        "WHERE t.id = v.id AND t.last_event_seq < v.first_seq AND t.id = ANY(%s::bigint[]) AND "
        + order_may_become_sql("t.status", "v.entry_status")
    )
