"""CancelOrder and CancelAll: take resting orders out of their book and release their holds.

Decided semantics (see ``matching.engine`` for the rest of the contract): a cancel only sees
the commanding account's orders in the named market (by ``order_id``, or else by
``client_order_id``); another account's order is ``order_not_found``. Refusals are
``CommandRejected``. A halted market allows cancels. Each cancelled order is ``OrderCancelled``
(``user_cancelled`` or ``cancel_all``) with its ``release`` (cause ``o:<order_id>``), then one
``BookChanged`` per market. CancelAll, in one market or all, cancels in the order the orders
were accepted; with nothing to cancel it returns no events.
"""

from __future__ import annotations

from typing import Final

from matching.commands import CancelAll, CancelOrder
from matching.conditional import end_untriggered
from matching.errors import EndReason, RejectReason
from matching.events import Event, OrderCancelled
from matching.order_lists import cancel_list, reconcile_lists
from matching.state import EngineState, Market, Touched
from matching.types import Side

BUY: Final = Side.BUY  # (enum members bound once: a global is a faster lookup)
USER_CANCELLED: Final = EndReason.USER_CANCELLED


def cancel_order(engine: EngineState, command: CancelOrder) -> list[Event]:
    # the fields once, in locals (reading a NamedTuple's field by name is a descriptor call)
    command_id, ts, account, symbol, order_id, client_order_id = command
    market = engine.markets_by_symbol.get(symbol)
    if market is None:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    if order_id is None and client_order_id is None:
        return engine.rejected(command, RejectReason.INVALID_ORDER)
    order = engine.find_order(account, symbol, order_id, client_order_id)
    if order is None:
        return _cancel_untriggered(engine, market, command)
    events: list[Event] = []
    engine.cancel_resting(market, order, USER_CANCELLED, events, command_id, ts)
    if market.triggers is not None:  # an OCO leg: the other leg goes too
        order_list = market.triggers.legs.get(order.order_id)
        if order_list is not None:
            cancel_list(
                engine, market, order_list, order.order_id, USER_CANCELLED, events, command_id, ts
            )
    return events


def cancel_all(engine: EngineState, command: CancelAll) -> list[Event]:
    symbol = command.symbol
    if symbol is not None and symbol not in engine.markets_by_symbol:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    orders = [
        order
        for order in engine.open_by_account.get(command.account, {}).values()
        if symbol is None or order.symbol == symbol
    ]
    events: list[Event] = []
    touched: Touched = {}
    for order in orders:
        market = engine.markets_by_symbol[order.symbol]
        bids, asks = touched.setdefault(order.symbol, ({}, {}))
        (bids if order.side is BUY else asks)[order.price] = None
        engine.end_resting(
            market,
            order,
            OrderCancelled,
            EndReason.CANCEL_ALL,
            events,
            command.command_id,
            command.ts,
        )
    engine.books_changed(touched, events, command.command_id, command.ts)
    if engine.cond.by_id or engine.cond.lists:
        _cancel_all_conditional(engine, command, events)
    return events


# ---------------------------------------------------------------- conditional orders, OCO lists


def _cancel_untriggered(engine: EngineState, market: Market, command: CancelOrder) -> list[Event]:
    """Cancel an untriggered order (and its OCO's limit leg), or refuse: not found."""
    cond = engine.cond.find(
        command.account, command.symbol, command.order_id, command.client_order_id
    )
    if cond is None:
        return engine.rejected(command, RejectReason.ORDER_NOT_FOUND)
    events: list[Event] = []
    if cond.list_id is not None:
        cancel_list(
            engine,
            market,
            engine.cond.lists[cond.list_id],
            cond.order_id,
            USER_CANCELLED,
            events,
            command.command_id,
            command.ts,
        )
    else:
        end_untriggered(
            engine, market, cond, USER_CANCELLED, events, command.command_id, command.ts
        )
    return events


def _cancel_all_conditional(engine: EngineState, command: CancelAll, events: list[Event]) -> None:
    """CancelAll's part for untriggered orders (after the resting ones); then the lists whose
    legs it ended are settled (``OrderListDone``)."""
    symbol = command.symbol
    untriggered = engine.cond.by_account.get(command.account, {})
    for cond in [c for c in untriggered.values() if symbol is None or c.symbol == symbol]:
        market = engine.markets_by_symbol[cond.symbol]
        end_untriggered(
            engine, market, cond, EndReason.CANCEL_ALL, events, command.command_id, command.ts
        )
    for market in engine.markets_by_symbol.values():
        if market.triggers is not None and (symbol is None or market.spec.symbol == symbol):
            reconcile_lists(engine, market, events, 0, command.command_id, command.ts)
