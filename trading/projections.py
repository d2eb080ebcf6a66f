"""Order, trade and market-status projections, written only by the persister.

``apply_events`` runs inside the persister's transaction with its checkpoint. It folds a batch
into its final per-order state in memory first, so an order born and filled within one batch is
one INSERT, and an existing order one UPDATE, however many events touched it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from exchange_site.clock import ns_to_datetime
from matching.arith import atoms_to_amount, lots_to_quantity, ticks_to_price
from matching.errors import RejectReason
from matching.events import (
    Event,
    MarketStatusChanged,
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
from trading.specs import cached_market


class _Batch:
    def __init__(self) -> None:
        self.new: dict[int, Order] = {}
        self.changes: dict[int, dict[str, Any]] = {}
        self.trades: list[Trade] = []

    def set(self, order_id: int, **fields: Any) -> None:
        order = self.new.get(order_id)
        if order is not None:
            for name, value in fields.items():
                setattr(order, name, value)
        else:
            self.changes.setdefault(order_id, {}).update(fields)


def _price(spec: MarketSpec, ticks: int | None) -> Decimal | None:
    return None if ticks is None else ticks_to_price(spec, ticks)


def _qty(spec: MarketSpec, lots: int | None) -> Decimal | None:
    return None if lots is None else lots_to_quantity(spec, lots)


def _quote(spec: MarketSpec, atoms: int | None) -> Decimal | None:
    return None if atoms is None else atoms_to_amount(spec.quote.decimals, atoms)


def _fills(spec: MarketSpec, lots: int, quote_atoms: int) -> dict[str, Any]:
    return {
        "filled_quantity": lots_to_quantity(spec, lots),
        "filled_quote": atoms_to_amount(spec.quote.decimals, quote_atoms),
    }


def _new_order(ev: OrderAccepted | OrderRejected, status: str, reason: str) -> Order:
    market_id, spec, _, _ = cached_market(ev.symbol)
    when = ns_to_datetime(ev.ts)
    return Order(
        id=ev.order_id,
        client_order_id=ev.client_order_id,
        user_id=ev.account,
        market_id=market_id,
        side=str(ev.side),
        type=str(ev.type),
        time_in_force=str(ev.time_in_force),
        post_only=ev.post_only,
        stp_mode=str(ev.stp_mode),
        price=_price(spec, ev.price),
        quantity=_qty(spec, ev.quantity),
        quote_quantity=_quote(spec, ev.quote_quantity),
        filled_quantity=Decimal(0),
        filled_quote=Decimal(0),
        status=status,
        reject_reason=reason,
        created_at=when,
        updated_at=when,
        last_event_seq=ev.seq,
    )


def _trade(ev: TradeExecuted) -> Trade:
    market_id, spec, base_id, quote_id = cached_market(ev.symbol)
    asset_ids = {spec.base.code: (base_id, spec.base.decimals)}
    asset_ids[spec.quote.code] = (quote_id, spec.quote.decimals)
    maker_asset, maker_dec = asset_ids[ev.maker_fee_asset]
    taker_asset, taker_dec = asset_ids[ev.taker_fee_asset]
    return Trade(
        market_id=market_id,
        trade_id=ev.trade_id,
        price=ticks_to_price(spec, ev.price),
        quantity=lots_to_quantity(spec, ev.quantity),
        quote_quantity=atoms_to_amount(spec.quote.decimals, ev.quote_amount),
        maker_order_id=ev.maker_order_id,
        taker_order_id=ev.taker_order_id,
        maker_user_id=ev.maker_account,
        taker_user_id=ev.taker_account,
        taker_side=str(ev.taker_side),
        maker_fee=atoms_to_amount(maker_dec, ev.maker_fee),
        maker_fee_asset_id=maker_asset,
        taker_fee=atoms_to_amount(taker_dec, ev.taker_fee),
        taker_fee_asset_id=taker_asset,
        executed_at=ns_to_datetime(ev.ts),
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


def _on_trade(batch: _Batch, ev: TradeExecuted) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.trades.append(_trade(ev))
    when = ns_to_datetime(ev.ts)
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
        updated_at=ns_to_datetime(ev.ts),
        last_event_seq=ev.seq,
        **_fills(spec, ev.filled_quantity, ev.filled_quote),
    )


def _on_amend(batch: _Batch, ev: OrderAmended) -> None:
    _, spec, _, _ = cached_market(ev.symbol)
    batch.set(
        ev.order_id,
        price=ticks_to_price(spec, ev.price),
        quantity=lots_to_quantity(spec, ev.quantity),
        updated_at=ns_to_datetime(ev.ts),
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
}


def _flush(batch: _Batch) -> None:
    if batch.new:
        Order.objects.bulk_create(batch.new.values())
    if batch.trades:
        Trade.objects.bulk_create(batch.trades)
    by_fields: dict[tuple[str, ...], list[Order]] = {}
    for order_id, fields in batch.changes.items():
        names = tuple(sorted(fields))
        by_fields.setdefault(names, []).append(Order(id=order_id, **fields))
    for names, orders in by_fields.items():
        Order.objects.bulk_update(orders, list(names))
