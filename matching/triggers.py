"""The trigger loop: after an order executed in a market with untriggered orders or OCO legs,
apply the list rules, trail the trailing stops, trigger what the last trade price crossed, and
execute each triggered order as the order it becomes (a cascade), within the per-command cap.

Decided semantics (beyond docs/order-types.md, "Trigger", "Cascades are bounded")
------------------------------------------------------------------------------------
*When.* After every order that executes in the market: the incoming PlaceOrder (run by
``MatchingEngine.apply`` once ``place_order`` is done) and each triggered order in turn. Each
check first applies the OCO rules to what that order did (``matching.order_lists``), then moves
the trailing stops to the extremes of its trades, then takes the crossed orders out of the
index: those of the direction the order moved the price first (a buy taker raises it: rises
first; a sell lowers it: falls first), each direction in stop-price order from the price the
market came from, then acceptance order. Every order taken emits ``OrderTriggered`` at once
(an OCO stop leg's limit leg is cancelled right after it) and joins the queue; the queue
executes first in, first out, each execution followed by its own check. So the events of one
check's triggers come before their executions.

*Execution* reuses the taker path of ``matching.orders``: a ``*_limit`` becomes a limit order
at its price and time in force (a FOK that cannot fill expires ``ioc_unfilled``; a GTC rest
rests), a sell ``*_market`` a market sell, a buy ``*_market`` by quote a market buy by quote,
a buy ``*_market`` by quantity a buy up to its protection price (``cap``: the one it holds at)
whose unfilled rest expires ``no_liquidity``. Its hold is already in place.

*The cap.* ``MAX_TRIGGERS_PER_COMMAND`` orders per command, counted in ``Conditionals.fired``;
when it stops a check with crossed orders left, the market joins ``Conditionals.backlog`` and
the next command addressed to it (any command with its symbol, a CancelAll of all markets, a
Tick) first runs a check at the last price (a halt too: it triggers them before it halts);
that command's own triggers count with them.
"""

from __future__ import annotations

from typing import Final

from matching.arith import MAX_PRICE_TICKS
from matching.book import Order
from matching.commands import PlaceOrder
from matching.emit_conditional import order_triggered
from matching.events import Event
from matching.fills import BUY_QUOTE, BY_LOTS, fill_taker
from matching.order_lists import settle_legs, stop_leg_executed, stop_leg_triggered
from matching.orders import _finish, _fok_fillable
from matching.state import EngineState, Market
from matching.types import OrderType, Side, TimeInForce
from matching.untriggered import (
    MAX_TRIGGERS_PER_COMMAND,
    Conditional,
    Triggers,
    is_limit_variant,
)

BUY: Final = Side.BUY
LIMIT: Final = OrderType.LIMIT
MARKET: Final = OrderType.MARKET
FOK: Final = TimeInForce.FOK
IOC: Final = TimeInForce.IOC


def run_after_order(
    engine: EngineState,
    market: Market,
    events: list[Event],
    command_id: str,
    ts: int,
    rise_first: bool,
) -> None:
    """The checks after an order that traded (the fill loop kept what they need: the trade
    range and the OCO legs it touched, ``Triggers``), and the cascade; events go to
    ``events``."""
    queue: list[Conditional] = []
    _check(engine, market, events, command_id, ts, rise_first, queue)
    done = 0
    while done < len(queue):
        cond = queue[done]
        done += 1
        _execute(engine, market, cond, events, command_id, ts)
        if market.triggers is not None:
            _check(engine, market, events, command_id, ts, cond.side is BUY, queue)


def _check(
    engine: EngineState,
    market: Market,
    events: list[Event],
    command_id: str,
    ts: int,
    rise_first: bool,
    queue: list[Conditional],
) -> None:
    triggers = market.triggers
    if triggers is None:
        return
    if triggers.touched_legs:
        touched = triggers.touched_legs
        triggers.touched_legs = []
        settle_legs(engine, market, touched, events, command_id, ts)
        triggers = market.triggers
        if triggers is None:
            return
    if triggers.trade_high:  # the trailing stops follow the trades' extremes
        triggers.trail(triggers.trade_high, triggers.trade_low)
    triggers.trade_high = triggers.trade_low = 0  # consumed (by the trailing stops, if any)
    last = market.last_price
    if not last:
        return
    if last <= triggers.trail_fall_max:  # a trailing sell may be crossed: exact keys first
        triggers.rekey_trailing(False)
    if last >= triggers.trail_rise_min:
        triggers.rekey_trailing(True)
    if triggers.any_crossed(last):  # (most checks: nothing is, and this is all they cost)
        _take_crossed(engine, market, triggers, events, command_id, ts, rise_first, last, queue)
        triggers = market.triggers
        if triggers is None:
            return
    if triggers.empty():
        market.triggers = None


def _take_crossed(
    engine: EngineState,
    market: Market,
    triggers: Triggers,
    events: list[Event],
    command_id: str,
    ts: int,
    rise_first: bool,
    last: int,
    queue: list[Conditional],
) -> None:
    """Take the orders ``last`` crossed out of the index, within the cap: each emits
    ``OrderTriggered`` and joins ``queue``; a cap that leaves crossed ones puts the market in
    the backlog."""
    cond_state = engine.cond
    room = MAX_TRIGGERS_PER_COMMAND - cond_state.fired
    crossed = triggers.crossed(rise_first, last, room)
    if len(crossed) < room:
        crossed += triggers.crossed(not rise_first, last, room - len(crossed))
    for cond in crossed:
        cond_state.fired += 1
        cond_state.forget(cond)
        if cond.trailing_delta is not None:
            triggers.remove_trailing(cond)
        engine.seq += 1
        events.append(
            order_triggered(
                seq=engine.seq,
                command_id=command_id,
                ts=ts,
                order_id=cond.order_id,
                account=cond.account,
                symbol=cond.symbol,
                type=LIMIT if is_limit_variant(cond.order_type) else MARKET,
                trigger_price=last,
                stop_price=cond.stop_price,
            )
        )
        if cond.list_id is not None:
            stop_leg_triggered(engine, market, cond, events, command_id, ts)
        queue.append(cond)
    now = market.triggers  # (an OCO's stop leg may have emptied it)
    if now is not None and cond_state.fired >= MAX_TRIGGERS_PER_COMMAND and now.any_crossed(last):
        cond_state.backlog[market.spec.symbol] = rise_first


def _execute(
    engine: EngineState,
    market: Market,
    cond: Conditional,
    events: list[Event],
    command_id: str,
    ts: int,
) -> None:
    """Execute a triggered order as the limit or market order it became (its hold is held)."""
    is_buy = cond.side is BUY
    units = market.units
    budget = 0
    tif = cond.time_in_force
    if is_limit_variant(cond.order_type):
        new_type = LIMIT
        limit = cond.price or 0
        mode = BY_LOTS
    else:
        new_type = MARKET
        tif = IOC
        if cond.quote_quantity is not None:
            limit = MAX_PRICE_TICKS
            mode = BUY_QUOTE
            budget = cond.quote_quantity
        else:
            limit = cond.cap if is_buy else 1
            mode = BY_LOTS
    lots = cond.quantity or 0
    # the order it became, as its own PlaceOrder would say (``_finish`` reads type and tif)
    command = PlaceOrder(
        command_id,
        ts,
        cond.order_id,
        cond.account,
        cond.symbol,
        cond.side,
        new_type,
        tif,
        cond.price if new_type is LIMIT else None,
        cond.quantity,
        cond.quote_quantity,
        False,
        cond.stp_mode,
        cond.client_order_id,
        iceberg_quantity=cond.iceberg_quantity or None,
        expire_time=cond.expire_time or None,
    )
    order = Order(
        cond.order_id,
        cond.account,
        cond.symbol,
        cond.side,
        limit,
        lots,
        0,
        0,
        cond.client_order_id,
        cond.stp_mode,
        cond.iceberg_quantity,  # a resting rest shows slices (``_finish``)
        cond.expire_time,  # a resting GTD rest stays in the expiry index
    )
    book = market.book
    if new_type is MARKET:
        crosses = True
    else:
        crosses = limit >= book.best_ask if is_buy else limit <= book.best_bid
        if (
            crosses
            and tif is FOK
            and not _fok_fillable(book, is_buy, limit, lots, cond.account, cond.stp_mode)
        ):
            crosses = False  # _finish expires it, ioc_unfilled
    pays = engine.balances_book.get(cond.account, units.quote if is_buy else units.base)
    if crosses:
        stop, walked = fill_taker(
            engine, market, order, is_buy, mode, budget, pays, events, command_id, ts
        )
    else:
        stop, walked = None, ()
    _finish(engine, market, command, order, is_buy, mode, budget, stop, walked, events)
    if cond.list_id is not None:
        stop_leg_executed(engine, market, cond.list_id, events, command_id, ts)
