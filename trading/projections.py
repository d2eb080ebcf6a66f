"""Order, trade and market projections, written only by the persister.

``apply_events`` runs inside the persister's transaction with its checkpoint. It folds a batch
into its final per-order state in memory first, so an order born and filled within one batch is
one INSERT, and an existing order one UPDATE, however many events touched it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from accounts.models import Asset
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
    OrderRejected,
    TradeExecuted,
)
from matching.types import MarketSpec
from trading.models import Market, Order, OrderStatus, Trade
from trading.specs import cached_market, cached_scales

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
        self.trades: list[tuple[Any, ...]] = []

    def set(self, order_id: int, **fields: Any) -> None:
        order = self.new.get(order_id)
        if order is not None:
            order.update(fields)
        else:
            self.changes.setdefault(order_id, {}).update(fields)


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
        "filled_quantity": "0",
        "filled_quote": "0",
        "status": status,
        "reject_reason": reason,
        "expire_reason": "",
        "created_at": when,
        "updated_at": when,
        "last_event_seq": ev.seq,
    }


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
    batch.new[ev.order_id] = _new_order(ev, OrderStatus.NEW, "")


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
        batch.set(
            order_id,
            status=OrderStatus.PARTIALLY_FILLED,
            updated_at=when,
            last_event_seq=ev.seq,
            **_fills(spec, lots, quote),
        )


_END_STATUS = {
    OrderFilled: OrderStatus.FILLED,
    OrderCancelled: OrderStatus.CANCELLED,
    OrderExpired: OrderStatus.EXPIRED,
}


def _on_end(batch: _Batch, ev: OrderFilled | OrderCancelled | OrderExpired) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.set(
        ev.order_id,
        status=_END_STATUS[type(ev)],
        expire_reason="" if type(ev) is OrderFilled else str(ev.reason),  # type: ignore[union-attr]
        updated_at=bulk.time_text(ev.ts),
        last_event_seq=ev.seq,
        **_fills(spec, ev.filled_quantity, ev.filled_quote),
    )


def _on_amend(batch: _Batch, ev: OrderAmended) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.set(
        ev.order_id,
        price=cached_scales(spec.symbol).price(ev.price),
        quantity=cached_scales(spec.symbol).quantity(ev.quantity),
        updated_at=bulk.time_text(ev.ts),
        last_event_seq=ev.seq,
    )


_HANDLERS: dict[type, Callable[[_Batch, Any], None]] = {
    OrderAccepted: _on_accepted,
    OrderRejected: _on_rejected,
    TradeExecuted: _on_trade,
    OrderFilled: _on_end,
    OrderCancelled: _on_end,
    OrderExpired: _on_end,
    OrderAmended: _on_amend,
    MarketStatusChanged: _on_market_status,
    MarketAdded: _on_market_spec,
    MarketUpdated: _on_market_spec,
}


def _flush(batch: _Batch) -> None:
    # Orders before trades: a trade refers to both of its orders.
    if batch.new:
        bulk.insert_rows(
            Order,
            _ORDER_COLUMNS,
            [tuple(row[name] for name in _ORDER_COLUMNS) for row in batch.new.values()],
        )
    bulk.insert_rows(Trade, _TRADE_COLUMNS, batch.trades)
    by_fields: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for order_id, fields in batch.changes.items():
        names = tuple(sorted(fields))
        by_fields.setdefault(names, []).append((order_id, *(fields[n] for n in names)))
    for names, rows in by_fields.items():
        bulk.update_rows(Order, "id", names, rows)
