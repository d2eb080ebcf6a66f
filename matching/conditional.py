"""PlaceOrder of a conditional type (``stop_market``, ``stop_limit``, ``take_profit_market``,
``take_profit_limit``): validate, hold, accept as ``untriggered``; and the end of an untriggered
order. Triggering is ``matching.triggers``. The contract is docs/order-types.md.

Decided semantics (beyond the doc)
----------------------------------
*Validation*, after the checks every order gets (``matching.orders._refusal``: halt, duplicate
ids, side, self-trade mode, client id), first failure wins: ``invalid_order`` (field
combination: ``post_only``; ``*_limit`` needs price and quantity and no quote_quantity and a
``time_in_force`` of GTC, IOC or FOK; ``*_market`` has no price, a sell needs quantity, a buy
exactly one of quantity / quote_quantity; ``stop_*`` needs exactly one of ``stop_price`` /
``trailing_delta``, ``take_profit_*`` a ``stop_price`` and no ``trailing_delta``;
``trailing_delta`` outside 10..2000), ``invalid_stop_price`` (1..``max_price_ticks``),
``invalid_price``, ``invalid_quantity``, ``below_min_notional`` / ``above_max_notional``
(a ``*_limit``: price x quantity; a buy by quote: quote_quantity; a ``*_market`` buy by
quantity: its protection price x quantity against the maximum), ``no_reference_price`` (a
trailing stop before the market's first trade), ``would_trigger_immediately``,
``insufficient_funds``. ``GTD`` (any conditional type) and ``iceberg_quantity`` (``*_limit``
with GTC or GTD) are checked as for any order by ``matching.expiry`` and ``matching.iceberg``;
an untriggered GTD order is in the expiry index from its acceptance (a ``Tick`` expires it
untriggered, ``gtd_expired``), and the order it becomes keeps its expiry and its slices.

*Events.* ``OrderAccepted`` (with ``stop_price``, the trailing stop's initial one, and
``trailing_delta``), then the hold (cause ``o:<order_id>``). An untriggered order is not in the
book: no ``BookChanged``. Its cancel is ``OrderCancelled`` and the release of its hold.
"""

from __future__ import annotations

from typing import Final

from matching.arith import notional_atoms, protection_price
from matching.commands import PlaceOrder
from matching.emit import order_accepted, order_ended
from matching.errors import EndReason, RejectReason
from matching.events import Event, OrderCancelled, OrderExpired
from matching.expiry import remember_expiry
from matching.state import EngineState, Market
from matching.types import OrderType, Side, TimeInForce
from matching.untriggered import (
    Conditional,
    Triggers,
    conditional_need,
    is_limit_variant,
    rises_on,
    trailing_stop,
)

MIN_TRAILING_DELTA: Final = 10
MAX_TRAILING_DELTA: Final = 2000

BUY: Final = Side.BUY
STOP_MARKET: Final = OrderType.STOP_MARKET
STOP_LIMIT: Final = OrderType.STOP_LIMIT
TAKE_PROFIT_MARKET: Final = OrderType.TAKE_PROFIT_MARKET
TAKE_PROFIT_LIMIT: Final = OrderType.TAKE_PROFIT_LIMIT
GTC: Final = TimeInForce.GTC
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK
GTD: Final = TimeInForce.GTD


def is_conditional(order_type: OrderType) -> bool:
    return (
        order_type is STOP_MARKET
        or order_type is STOP_LIMIT
        or order_type is TAKE_PROFIT_MARKET
        or order_type is TAKE_PROFIT_LIMIT
    )


def conditional_refusal(market: Market, command: PlaceOrder) -> RejectReason | None:
    """The first reason to refuse a conditional ``command`` from its fields and the market's
    bounds (the checks every order gets were made)."""
    order_type = command.type
    side = command.side
    tif = command.time_in_force
    price = command.price
    lots = command.quantity
    quote_quantity = command.quote_quantity
    stop_price = command.stop_price
    delta = command.trailing_delta
    is_stop = order_type is STOP_MARKET or order_type is STOP_LIMIT
    if (
        command.post_only
        or (is_stop and (stop_price is None) == (delta is None))
        or (not is_stop and (stop_price is None or delta is not None))
        or (delta is not None and not MIN_TRAILING_DELTA <= delta <= MAX_TRAILING_DELTA)
    ):
        return RejectReason.INVALID_ORDER
    if is_limit_variant(order_type):
        if (
            price is None
            or lots is None
            or quote_quantity is not None
            or (tif is not GTC and tif is not IOC and tif is not FOK and tif is not GTD)
        ):
            return RejectReason.INVALID_ORDER
    elif price is not None:
        return RejectReason.INVALID_ORDER
    elif side is BUY:
        if (lots is None) == (quote_quantity is None):
            return RejectReason.INVALID_ORDER
    elif lots is None or quote_quantity is not None:
        return RejectReason.INVALID_ORDER
    units = market.units
    if stop_price is not None and not 0 < stop_price <= units.max_price_ticks:
        return RejectReason.INVALID_STOP_PRICE
    if price is not None and not 0 < price <= units.max_price_ticks:
        return RejectReason.INVALID_PRICE
    if lots is not None and not 0 < lots <= units.max_lots:
        return RejectReason.INVALID_QUANTITY
    if quote_quantity is not None:
        if not 0 < quote_quantity <= units.max_notional_atoms:
            return RejectReason.INVALID_QUANTITY
        if quote_quantity < units.min_notional_atoms:
            return RejectReason.BELOW_MIN_NOTIONAL
    if price is not None and lots is not None:
        notional = notional_atoms(units, price, lots)
        if notional < units.min_notional_atoms:
            return RejectReason.BELOW_MIN_NOTIONAL
        if notional > units.max_notional_atoms:
            return RejectReason.ABOVE_MAX_NOTIONAL
    return None


def initial_stop(market: Market, command: PlaceOrder) -> int:
    """The stop price the order starts with: its own, or a trailing stop's from the last
    trade price (0: no reference price)."""
    if command.stop_price is not None:
        return command.stop_price
    last = market.last_price
    if not last or command.trailing_delta is None:
        return 0
    return trailing_stop(last, command.trailing_delta, command.side is BUY)


def triggers_at(rises: bool, stop_price: int, last: int) -> bool:
    """Does a last trade price of ``last`` (0: none yet) cross ``stop_price``?"""
    if not last:
        return False
    return last >= stop_price if rises else last <= stop_price


def new_conditional(
    market: Market,
    command: PlaceOrder,
    stop_price: int,
    accepted: int,
    list_id: int | None,
) -> Conditional:
    """The untriggered order ``command`` describes (its ``hold`` still 0)."""
    is_buy = command.side is BUY
    cap = 0
    if is_buy and not is_limit_variant(command.type) and command.quantity is not None:
        cap = protection_price(stop_price)
    return Conditional(
        command.order_id,
        command.account,
        command.symbol,
        command.side,
        command.type,
        command.time_in_force,
        command.price,
        command.quantity,
        command.quote_quantity,
        stop_price,
        command.trailing_delta,
        market.last_price if command.trailing_delta is not None else 0,
        cap,
        command.client_order_id,
        command.stp_mode,
        list_id,
        accepted,
        0,
        command.iceberg_quantity or 0,
        command.expire_time or 0,
    )


def place_conditional(engine: EngineState, market: Market, command: PlaceOrder) -> list[Event]:
    """Accept a validated conditional order as ``untriggered`` (or refuse it)."""
    reason = conditional_refusal(market, command)
    if reason is not None:
        return engine.refuse_order(command, reason)
    stop_price = initial_stop(market, command)
    if not stop_price:
        return engine.refuse_order(command, RejectReason.NO_REFERENCE_PRICE)
    rises = rises_on(command.type, command.side is BUY)
    if triggers_at(rises, stop_price, market.last_price):
        return engine.refuse_order(command, RejectReason.WOULD_TRIGGER_IMMEDIATELY)
    cond = new_conditional(market, command, stop_price, engine.seq + 1, None)
    units = market.units
    if cond.cap and notional_atoms(units, cond.cap, cond.quantity or 0) > units.max_notional_atoms:
        return engine.refuse_order(command, RejectReason.ABOVE_MAX_NOTIONAL)
    hold = conditional_need(units, cond)
    asset = units.quote if command.side is BUY else units.base
    if hold > engine.balances_book.available(command.account, asset):
        return engine.refuse_order(command, RejectReason.INSUFFICIENT_FUNDS)
    events: list[Event] = []
    accept_conditional(engine, market, cond, hold, events, command.command_id, command.ts)
    return events


def accept_conditional(
    engine: EngineState,
    market: Market,
    cond: Conditional,
    hold: int,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """Use the order's ids, emit its ``OrderAccepted`` (seq ``cond.accepted``), hold ``hold``
    and index it."""
    engine.use_order_ids(cond.order_id, cond.account, cond.client_order_id)
    engine.seq += 1
    events.append(
        order_accepted(
            seq=engine.seq,
            command_id=command_id,
            ts=ts,
            order_id=cond.order_id,
            account=cond.account,
            symbol=cond.symbol,
            side=cond.side,
            type=cond.order_type,
            time_in_force=cond.time_in_force,
            price=cond.price,
            quantity=cond.quantity,
            quote_quantity=cond.quote_quantity,
            post_only=False,
            stp_mode=cond.stp_mode,
            client_order_id=cond.client_order_id,
            stop_price=cond.stop_price,
            trailing_delta=cond.trailing_delta,
            iceberg_quantity=cond.iceberg_quantity or None,
            expire_time=cond.expire_time or None,
            list_id=cond.list_id,
        )
    )
    move_hold(engine, market, cond, hold, f"o:{cond.order_id}", events, command_id, ts)
    engine.cond.remember(cond)
    triggers = market.triggers
    if triggers is None:
        triggers = market.triggers = Triggers()
    triggers.add(cond)
    if cond.trailing_delta is not None:
        triggers.add_trailing(cond)
    if cond.expire_time:
        remember_expiry(engine, cond.expire_time, cond.order_id)


def move_hold(
    engine: EngineState,
    market: Market,
    cond: Conditional,
    amount: int,
    cause: str,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """Hold ``amount`` more for ``cond`` (release if negative); nothing for 0."""
    if not amount:
        return
    units = market.units
    asset = units.quote if cond.side is BUY else units.base
    cond.hold += amount
    engine.move_held(cond.account, asset, amount, cause, events, command_id, ts)


def end_untriggered(
    engine: EngineState,
    market: Market,
    cond: Conditional,
    reason: EndReason,
    events: list[Event],
    command_id: str,
    ts: int,
    ending: type[OrderCancelled] | type[OrderExpired] = OrderCancelled,
) -> None:
    """End an untriggered order (``OrderCancelled``, or ``OrderExpired`` as ``ending`` says:
    a GTD expiry): out of the indexes, its end, the release of its hold."""
    drop_untriggered(engine, market, cond)
    engine.seq += 1
    events.append(
        order_ended(
            ending,
            seq=engine.seq,
            command_id=command_id,
            ts=ts,
            order_id=cond.order_id,
            account=cond.account,
            symbol=cond.symbol,
            reason=reason,
            filled_quantity=0,
            filled_quote=0,
        )
    )
    move_hold(engine, market, cond, -cond.hold, f"o:{cond.order_id}", events, command_id, ts)


def drop_untriggered(engine: EngineState, market: Market, cond: Conditional) -> None:
    """Take ``cond`` out of the engine's and the market's indexes."""
    engine.cond.forget(cond)
    triggers = market.triggers
    if triggers is not None:
        triggers.remove(cond)
        if cond.trailing_delta is not None:
            triggers.remove_trailing(cond)
        if triggers.empty():
            market.triggers = None
