"""PlaceOrderList and CancelOrderList (OCO), and the interplay of an open list's two legs.

Decided semantics (beyond docs/order-types.md, "OCO")
-----------------------------------------------------
*Validation*, first failure wins, each refusal an ``OrderListRejected`` with no side effect:
``unknown_market``, ``market_halted``, ``duplicate_list_id``, ``duplicate_client_list_id``,
``invalid_order_list`` (the two leg ids equal, the two leg client ids equal, a client list id
outside 1..64 chars, a stop time in force other than GTC / IOC / FOK), then each leg as its own
order would be checked (the limit leg a ``limit`` GTC, the stop leg a ``stop_limit`` /
``stop_market``: duplicate ids, prices, quantity, notional, with those orders' reasons), then
``invalid_order_list`` again when the prices are on the wrong sides (a sell needs the limit
price above the stop price and above the last trade price; a buy the other way round; with no
trade yet only the two prices are compared), ``would_trigger_immediately``,
``post_only_would_take`` (the limit leg would cross the book), ``insufficient_funds`` (the
larger leg's hold).

*Events.* ``OrderListAccepted``; the limit leg's ``OrderAccepted`` (``list_id``) and hold
(``o:<limit id>``); the stop leg's ``OrderAccepted`` and its hold beyond the limit leg's
(``o:<stop id>``, none when 0); the limit leg's ``BookChanged``.

*Interplay.* The legs are watched through ``Triggers.legs`` after every order that executes in
the market (``matching.triggers``) and on every cancel: a trade of the limit leg, or its end
for any reason (filled, cancelled, expired by self-trade prevention), cancels an untriggered
stop leg (``order_list``); a trigger of the stop leg cancels the limit leg (``order_list``) and
moves the stop leg's hold up to its full need (``g:<stop id>``). The list is done
(``OrderListDone``) once neither leg is open: its limit leg ended and its stop leg was
cancelled, or ended after its trigger (a triggered ``stop_limit`` that rests keeps the list
executing until it ends). Cancelling the list, or either leg, cancels every open leg: the one
named ``user_cancelled``, the other ``order_list``; CancelOrderList cancels all of them
``user_cancelled``. An OCO leg cannot be amended (``order_not_amendable``).
"""

from __future__ import annotations

from typing import Final

from matching.arith import notional_atoms, order_hold
from matching.book import Order
from matching.commands import CancelOrderList, PlaceOrder, PlaceOrderList
from matching.conditional import (
    accept_conditional,
    conditional_refusal,
    end_untriggered,
    move_hold,
    new_conditional,
    triggers_at,
)
from matching.emit import order_accepted
from matching.emit_conditional import order_list_accepted, order_list_done, order_list_rejected
from matching.errors import EndReason, EngineInvariantError, RejectReason
from matching.events import (
    Event,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    TradeExecuted,
)
from matching.orders import _refusal as order_refusal
from matching.state import EngineState, Market
from matching.types import OrderType, Side, TimeInForce
from matching.untriggered import Conditional, OrderList, Triggers, conditional_need

MAX_CLIENT_LIST_ID: Final = 64
BUY: Final = Side.BUY
SELL: Final = Side.SELL
LIMIT: Final = OrderType.LIMIT
STOP_LIMIT: Final = OrderType.STOP_LIMIT
STOP_MARKET: Final = OrderType.STOP_MARKET
GTC: Final = TimeInForce.GTC
ORDER_LIST: Final = EndReason.ORDER_LIST
USER_CANCELLED: Final = EndReason.USER_CANCELLED


# ---------------------------------------------------------------- PlaceOrderList


def place_order_list(engine: EngineState, command: PlaceOrderList) -> list[Event]:
    market = engine.markets_by_symbol.get(command.symbol)
    if market is None:
        return _rejected(engine, command, RejectReason.UNKNOWN_MARKET)
    limit_leg, stop_leg = leg_commands(command)
    reason = _refusal(engine, market, command, limit_leg, stop_leg)
    if reason is not None:
        return _rejected(engine, command, reason)
    units = market.units
    is_buy = command.side is BUY
    limit_hold = order_hold(units, is_buy, command.price, command.quantity)
    cond = new_conditional(market, stop_leg, command.stop_price, 0, command.list_id)
    if cond.cap and notional_atoms(units, cond.cap, command.quantity) > units.max_notional_atoms:
        return _rejected(engine, command, RejectReason.ABOVE_MAX_NOTIONAL)
    stop_need = conditional_need(units, cond)
    asset = units.quote if is_buy else units.base
    if max(limit_hold, stop_need) > engine.balances_book.available(command.account, asset):
        return _rejected(engine, command, RejectReason.INSUFFICIENT_FUNDS)

    command_id = command.command_id
    ts = command.ts
    order_list = OrderList(
        command.list_id,
        command.account,
        command.symbol,
        command.client_list_id,
        command.limit_order_id,
        command.stop_order_id,
    )
    engine.cond.remember_list(order_list)
    engine.seq += 1
    events: list[Event] = [
        order_list_accepted(
            seq=engine.seq,
            command_id=command_id,
            ts=ts,
            list_id=command.list_id,
            account=command.account,
            symbol=command.symbol,
            client_list_id=command.client_list_id,
            limit_order_id=command.limit_order_id,
            stop_order_id=command.stop_order_id,
        )
    ]
    # the limit leg: accepted, held, rests (it does not cross: checked)
    order = Order(
        command.limit_order_id,
        command.account,
        command.symbol,
        command.side,
        command.price,
        command.quantity,
        0,
        0,
        command.limit_client_order_id,
        command.stp_mode,
    )
    engine.use_order_ids(order.order_id, order.account, order.client_order_id)
    engine.seq += 1
    events.append(
        order_accepted(
            seq=engine.seq,
            command_id=command_id,
            ts=ts,
            order_id=order.order_id,
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            type=LIMIT,
            time_in_force=GTC,
            price=command.price,
            quantity=command.quantity,
            quote_quantity=None,
            post_only=False,
            stp_mode=command.stp_mode,
            client_order_id=order.client_order_id,
            stop_price=None,
            trailing_delta=None,
            iceberg_quantity=None,
            expire_time=None,
            list_id=command.list_id,
        )
    )
    engine.move_held(
        order.account, asset, limit_hold, f"o:{order.order_id}", events, command_id, ts
    )
    level = market.book.append(order, is_buy)
    engine.remember_order(order)
    # the stop leg: untriggered, holding only what it needs beyond the limit leg
    cond.accepted = engine.seq + 1
    accept_conditional(engine, market, cond, max(0, stop_need - limit_hold), events, command_id, ts)
    triggers = market.triggers
    if triggers is None:
        raise EngineInvariantError("an accepted stop leg has no index")
    triggers.legs[order.order_id] = order_list
    triggers.legs[cond.order_id] = order_list
    rested = ((order.price, level.total),)
    events.append(
        engine.book_changed(
            market, rested if is_buy else (), () if is_buy else rested, command_id, ts
        )
    )
    return events


def leg_commands(command: PlaceOrderList) -> tuple[PlaceOrder, PlaceOrder]:
    """The two legs as the PlaceOrder each would be on its own."""
    limit_leg = PlaceOrder(
        command.command_id,
        command.ts,
        command.limit_order_id,
        command.account,
        command.symbol,
        command.side,
        LIMIT,
        GTC,
        command.price,
        command.quantity,
        None,
        False,
        command.stp_mode,
        command.limit_client_order_id,
    )
    stop_limit = command.stop_limit_price is not None
    stop_leg = PlaceOrder(
        command.command_id,
        command.ts,
        command.stop_order_id,
        command.account,
        command.symbol,
        command.side,
        STOP_LIMIT if stop_limit else STOP_MARKET,
        command.stop_time_in_force if stop_limit else GTC,
        command.stop_limit_price,
        command.quantity,
        None,
        False,
        command.stp_mode,
        command.stop_client_order_id,
        command.stop_price,
    )
    return limit_leg, stop_leg


def _refusal(
    engine: EngineState,
    market: Market,
    command: PlaceOrderList,
    limit_leg: PlaceOrder,
    stop_leg: PlaceOrder,
) -> RejectReason | None:
    if market.halted:
        return RejectReason.MARKET_HALTED
    cond = engine.cond
    if command.list_id in cond.used_list_ids:
        return RejectReason.DUPLICATE_LIST_ID
    client_list_id = command.client_list_id
    if client_list_id is not None and client_list_id in cond.used_client_list_ids.get(
        command.account, ()
    ):
        return RejectReason.DUPLICATE_CLIENT_LIST_ID
    tif = command.stop_time_in_force
    if (
        command.limit_order_id == command.stop_order_id
        or (
            command.limit_client_order_id is not None
            and command.limit_client_order_id == command.stop_client_order_id
        )
        or (client_list_id is not None and not 0 < len(client_list_id) <= MAX_CLIENT_LIST_ID)
        or (
            tif is not TimeInForce.GTC and tif is not TimeInForce.IOC and tif is not TimeInForce.FOK
        )
        or (command.side is not BUY and command.side is not SELL)
    ):
        return RejectReason.INVALID_ORDER_LIST
    reason = order_refusal(engine, market, limit_leg) or order_refusal(engine, market, stop_leg)
    if reason is None:
        reason = conditional_refusal(market, stop_leg)
    if reason is not None:
        return reason
    is_buy = command.side is BUY
    price = command.price
    stop_price = command.stop_price
    last = market.last_price
    if (price >= stop_price if is_buy else price <= stop_price) or (
        last and (price >= last if is_buy else price <= last)
    ):
        return RejectReason.INVALID_ORDER_LIST
    if triggers_at(is_buy, stop_price, last):  # a buy stop rises, a sell stop falls
        return RejectReason.WOULD_TRIGGER_IMMEDIATELY
    book = market.book
    if price >= book.best_ask if is_buy else price <= book.best_bid:
        return RejectReason.POST_ONLY_WOULD_TAKE
    return None


def _rejected(engine: EngineState, command: PlaceOrderList, reason: RejectReason) -> list[Event]:
    engine.seq += 1
    return [
        order_list_rejected(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            list_id=command.list_id,
            account=command.account,
            symbol=command.symbol,
            client_list_id=command.client_list_id,
            limit_order_id=command.limit_order_id,
            stop_order_id=command.stop_order_id,
            reason=reason,
        )
    ]


# ---------------------------------------------------------------- CancelOrderList


def cancel_order_list(engine: EngineState, command: CancelOrderList) -> list[Event]:
    market = engine.markets_by_symbol.get(command.symbol)
    if market is None:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    if command.list_id is None and command.client_list_id is None:
        return engine.rejected(command, RejectReason.INVALID_ORDER_LIST)
    cond = engine.cond
    if command.list_id is not None:
        order_list = cond.lists.get(command.list_id)
    else:
        order_list = cond.lists_by_client_id.get(command.account, {}).get(
            command.client_list_id or ""
        )
    if (
        order_list is None
        or order_list.account != command.account
        or order_list.symbol != command.symbol
    ):
        return engine.rejected(command, RejectReason.ORDER_LIST_NOT_FOUND)
    events: list[Event] = []
    cancel_list(
        engine, market, order_list, None, USER_CANCELLED, events, command.command_id, command.ts
    )
    return events


def cancel_list(
    engine: EngineState,
    market: Market,
    order_list: OrderList,
    named: int | None,
    reason: EndReason,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """End every open leg of ``order_list`` (the leg ``named`` with ``reason``, the others
    ``order_list``; all with ``reason`` when None), then the list."""
    for order_id in (order_list.limit_id, order_list.stop_id):
        why = reason if named is None or named == order_id else ORDER_LIST
        cond = engine.cond.by_id.get(order_id)
        if cond is not None:
            end_untriggered(engine, market, cond, why, events, command_id, ts)
            continue
        order = engine.open_orders_by_id.get(order_id)
        if order is not None:
            engine.cancel_resting(market, order, why, events, command_id, ts)
    settle_list(engine, market, order_list, events, command_id, ts)


# ---------------------------------------------------------------- interplay


def reconcile_lists(
    engine: EngineState, market: Market, events: list[Event], start: int, command_id: str, ts: int
) -> None:
    """The lists whose legs traded or ended in ``events[start:]``: cancel what the other leg's
    fill or end cancels, and end the lists left with no open leg."""
    triggers = market.triggers
    if triggers is None:
        return
    legs = triggers.legs
    touched: list[OrderList] = []
    for index in range(start, len(events)):
        ev = events[index]
        if isinstance(ev, TradeExecuted):
            order_id = ev.maker_order_id
        elif isinstance(ev, (OrderFilled, OrderExpired, OrderCancelled)):
            order_id = ev.order_id
        else:
            continue
        order_list = legs.get(order_id)
        if order_list is not None and order_list not in touched:
            touched.append(order_list)
    for order_list in touched:
        settle_list(engine, market, order_list, events, command_id, ts)


def settle_legs(
    engine: EngineState,
    market: Market,
    order_ids: list[int],
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """The lists of the limit legs that traded or ended (``order_ids``, in event order, as the
    fill loop noted them): apply their rules, once per list."""
    triggers = market.triggers
    if triggers is None:
        return
    touched: list[OrderList] = []
    for order_id in order_ids:
        order_list = triggers.legs.get(order_id)
        if order_list is not None and order_list not in touched:
            touched.append(order_list)
    for order_list in touched:
        settle_list(engine, market, order_list, events, command_id, ts)


def settle_list(
    engine: EngineState,
    market: Market,
    order_list: OrderList,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """Apply the list's rules to its legs as they are now (see the module docstring)."""
    if order_list.list_id not in engine.cond.lists:
        return  # already done
    cond = engine.cond.by_id.get(order_list.stop_id)
    limit_order = engine.open_orders_by_id.get(order_list.limit_id)
    if cond is not None:
        if limit_order is not None and not limit_order.filled:
            return  # both legs waiting
        end_untriggered(engine, market, cond, ORDER_LIST, events, command_id, ts)
    elif order_list.list_id in engine.cond.triggering:
        return  # its stop leg triggered and waits for its turn to execute
    if limit_order is None and order_list.stop_id not in engine.open_orders_by_id:
        engine.cond.forget_list(order_list)
        triggers = market.triggers
        if triggers is not None:
            triggers.legs.pop(order_list.limit_id, None)
            triggers.legs.pop(order_list.stop_id, None)
            if triggers.empty():
                market.triggers = None
        engine.seq += 1
        events.append(
            order_list_done(
                seq=engine.seq,
                command_id=command_id,
                ts=ts,
                list_id=order_list.list_id,
                account=order_list.account,
                symbol=order_list.symbol,
            )
        )


def stop_leg_triggered(
    engine: EngineState,
    market: Market,
    cond: Conditional,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """The stop leg ``cond`` just triggered: cancel the limit leg, take the stop leg's full
    hold (``g:<stop id>``). The list waits for the stop leg's execution."""
    list_id = cond.list_id
    if list_id is None:
        raise EngineInvariantError(f"order {cond.order_id} is no list's leg")
    order_list = engine.cond.lists[list_id]
    engine.cond.triggering.add(list_id)
    limit_order = engine.open_orders_by_id.get(order_list.limit_id)
    if limit_order is not None:
        engine.cancel_resting(market, limit_order, ORDER_LIST, events, command_id, ts)
    need = conditional_need(market.units, cond)
    move_hold(engine, market, cond, need - cond.hold, f"g:{cond.order_id}", events, command_id, ts)


def stop_leg_executed(
    engine: EngineState, market: Market, list_id: int, events: list[Event], command_id: str, ts: int
) -> None:
    """The triggered stop leg of ``list_id`` executed: the list ends unless it rests."""
    engine.cond.triggering.discard(list_id)
    order_list = engine.cond.lists.get(list_id)
    if order_list is not None:
        settle_list(engine, market, order_list, events, command_id, ts)


def leg_of(market: Market, order_id: int) -> OrderList | None:
    triggers: Triggers | None = market.triggers
    return None if triggers is None else triggers.legs.get(order_id)
