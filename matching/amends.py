"""AmendOrder: change a resting order's price or quantity without trading.

Decided semantics (see ``matching.engine`` for the rest of the contract): an amend only sees
the commanding account's orders in the named market, like a cancel, and a halted market refuses
it (``market_halted``). ``new_quantity`` is the new total quantity and must stay above what is
filled (else ``invalid_quantity``); the new price and quantity are checked like a new limit
order's (price, quantity, notional bounds). Keeping the price and not increasing the quantity
keeps time priority; a price change or an increase re-queues the order at the back of its level.
An amend never trades: a new price that would cross the book is refused
``post_only_would_take``. The hold is adjusted by the exact difference (``hold`` or
``release``, cause ``a:<order_id>:<seq>``); ``insufficient_funds`` if an increase is not
available. Events: ``OrderAmended`` (``kept_priority``), the hold change if any, and
``BookChanged`` unless nothing changed. An iceberg's quantity is held to the iceberg bounds
(``matching.iceberg``): reduced, it keeps its place and its visible slice is trimmed to what is
left; requeued, it shows a fresh slice.
"""

from __future__ import annotations

from matching.arith import notional_atoms, order_hold
from matching.balances import balance_moved
from matching.book import new_slice
from matching.commands import AmendOrder
from matching.emit import order_amended
from matching.errors import RejectReason
from matching.events import Event
from matching.iceberg import too_many_parts
from matching.state import EngineState
from matching.types import BalanceReason, Side


def amend_order(engine: EngineState, command: AmendOrder) -> list[Event]:
    market = engine.markets_by_symbol.get(command.symbol)
    if market is None:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    if market.halted:
        return engine.rejected(command, RejectReason.MARKET_HALTED)
    if command.order_id is None and command.client_order_id is None:
        return engine.rejected(command, RejectReason.INVALID_ORDER)
    order = engine.find_order(
        command.account, command.symbol, command.order_id, command.client_order_id
    )
    if order is None:
        if engine.cond.find(
            command.account, command.symbol, command.order_id, command.client_order_id
        ):
            return engine.rejected(command, RejectReason.ORDER_NOT_AMENDABLE)  # untriggered
        return engine.rejected(command, RejectReason.ORDER_NOT_FOUND)
    if market.triggers is not None and order.order_id in market.triggers.legs:
        return engine.rejected(command, RejectReason.ORDER_NOT_AMENDABLE)  # an OCO leg
    if command.new_price is None and command.new_quantity is None:
        return engine.rejected(command, RejectReason.INVALID_ORDER)
    old_price = order.price
    old_quantity = order.quantity
    price = old_price if command.new_price is None else command.new_price
    quantity = old_quantity if command.new_quantity is None else command.new_quantity
    units = market.units
    book = market.book
    if not 0 < price <= units.max_price_ticks:
        return engine.rejected(command, RejectReason.INVALID_PRICE)
    if not order.filled < quantity <= units.max_lots:
        return engine.rejected(command, RejectReason.INVALID_QUANTITY)
    if order.display and too_many_parts(quantity, order.display):  # an iceberg (iceberg.py)
        return engine.rejected(command, RejectReason.INVALID_QUANTITY)
    notional = notional_atoms(units, price, quantity)
    if notional < units.min_notional_atoms:
        return engine.rejected(command, RejectReason.BELOW_MIN_NOTIONAL)
    if notional > units.max_notional_atoms:
        return engine.rejected(command, RejectReason.ABOVE_MAX_NOTIONAL)
    is_buy = order.side is Side.BUY
    if price != old_price and (price >= book.best_ask if is_buy else price <= book.best_bid):
        return engine.rejected(command, RejectReason.POST_ONLY_WOULD_TAKE)
    old_hold = order_hold(units, is_buy, old_price, old_quantity - order.filled)
    new_hold = order_hold(units, is_buy, price, quantity - order.filled)
    asset = units.quote if is_buy else units.base
    bal = engine.balances_book.get(order.account, asset)
    delta = new_hold - old_hold
    if delta > bal.available:
        return engine.rejected(command, RejectReason.INSUFFICIENT_FUNDS)

    kept_priority = price == old_price and quantity <= old_quantity
    if kept_priority:
        book.reduce(order, is_buy, quantity)
    else:  # to the back of its (new) level
        book.remove(order, is_buy)
        order.price = price
        order.quantity = quantity
        if order.display:
            new_slice(order)  # an iceberg shows a fresh slice at its new place
        book.append(order, is_buy)
    seq = engine.seq + 1
    events: list[Event] = [
        order_amended(
            seq=seq,
            command_id=command.command_id,
            ts=command.ts,
            order_id=order.order_id,
            account=order.account,
            symbol=order.symbol,
            price=price,
            quantity=quantity,
            kept_priority=kept_priority,
        )
    ]
    if delta:
        bal.available -= delta
        bal.locked += delta
        seq += 1
        events.append(
            balance_moved(
                seq,
                command.command_id,
                command.ts,
                f"a:{order.order_id}:{seq}",
                order.account,
                asset,
                bal,
                available_by=-delta,
                locked_by=delta,
                reason=BalanceReason.HOLD if delta > 0 else BalanceReason.RELEASE,
            )
        )
    engine.seq = seq
    if not (kept_priority and quantity == old_quantity):
        levels = book.totals_at({old_price: None, price: None}, is_buy)
        if is_buy:
            events.append(engine.book_changed(market, levels, (), command.command_id, command.ts))
        else:
            events.append(engine.book_changed(market, (), levels, command.command_id, command.ts))
    return events
