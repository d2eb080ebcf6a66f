"""PlaceOrder: validate, hold the funds, accept, then rest or take (``matching.fills``).

Decided semantics (see ``matching.engine`` for the rest of the contract)
------------------------------------------------------------------------
*Validation*, first failure wins: ``unknown_market``, ``market_halted``,
``duplicate_order_id``, ``duplicate_client_order_id``, ``invalid_order`` (field combination:
LIMIT needs price and quantity and no quote_quantity; MARKET has no price; market sell needs
quantity; market buy exactly one of quantity / quote_quantity; post_only only on LIMIT GTC or
GTD; client_order_id, if given, 1..64 chars), ``invalid_price`` (1..``max_price_ticks``: 2**62
ticks and a price below 10**19), ``invalid_quantity`` (lots 1..``max_lots``: 2**62 and below
10**19 units; quote_quantity 1..``max_notional_atoms``), ``below_min_notional`` (limit: price x
quantity; market buy by quote: quote_quantity; market orders by base quantity are not checked,
their price is unknown), ``above_max_notional`` (a limit order's price x quantity above
``max_notional_atoms``, 10**19 quote units less one atom: ``matching.arith``, "Bounds"),
``insufficient_funds`` (the order's hold exceeds available), ``post_only_would_take``,
``fok_not_fillable`` (the quantity fillable within the limit, counting self-trade prevention
exactly as matching will apply it, and an iceberg's hidden quantity behind its visible slice,
is short). The iceberg checks (``matching.iceberg``) and the GTD checks (``matching.expiry``)
come right after ``below_min_notional`` / ``above_max_notional``. A rejected order leaves no
trace: its ids are not consumed.

*Holds.* A limit buy holds ``price x quantity`` quote, any sell its base, a market buy by quote
its ``quote_quantity``. A market buy by base quantity holds nothing: it pays each fill from
available quote and fills, level by level, only the lots available quote covers (fees are taken
from the base received), then expires ``insufficient_funds``; it can never overspend. A limit
buy filling below its limit releases the difference at once (reason ``release``). Whatever an
order still holds when it ends is released (cause ``o:<order_id>``).

*Outcome.* A limit GTC or GTD order that does not cross, or still has quantity after taking,
rests (``BookChanged``; an iceberg shows its first slice, a GTD order enters the expiry index);
one that filled completely is ``OrderFilled``; otherwise it expires: ``ioc_unfilled`` (limit
IOC / FOK rest), ``no_liquidity`` (a market order's rest: book exhausted),
``self_trade_prevention``, ``insufficient_funds``. A market buy by quote ends when
its unspent quote cannot buy one more lot at the next maker's price: ``OrderFilled`` if it bought
anything, else ``OrderExpired(no_liquidity)``; the unspent quote is released.
"""

from __future__ import annotations

from typing import Final

from matching.arith import (
    MAX_PRICE_TICKS,
    base_atoms,
    lots_affordable,
    notional_atoms,
    order_hold,
)
from matching.balances import balance_moved
from matching.book import Book, Order, new_slice
from matching.commands import PlaceOrder
from matching.conditional import is_conditional, place_conditional
from matching.emit import order_accepted, order_expired, order_filled, order_rejected
from matching.errors import EndReason, RejectReason
from matching.events import (
    Event,
    OrderExpired,
    OrderFilled,
)
from matching.expiry import expire_time_refusal, remember_expiry
from matching.fills import BUDGET_SPENT, BUY_BASE, BUY_QUOTE, BY_LOTS, fill_taker
from matching.iceberg import iceberg_refusal
from matching.state import EngineState, Levels, Market
from matching.types import BalanceReason, OrderType, Side, StpMode, TimeInForce

MAX_CLIENT_ORDER_ID = 64

# enum members bound once: an attribute of an enum class is a slower lookup than a global
BUY: Final = Side.BUY
SELL: Final = Side.SELL
LIMIT: Final = OrderType.LIMIT
MARKET: Final = OrderType.MARKET
GTC: Final = TimeInForce.GTC
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK
GTD: Final = TimeInForce.GTD
EXPIRE_TAKER: Final = StpMode.EXPIRE_TAKER
EXPIRE_MAKER: Final = StpMode.EXPIRE_MAKER
EXPIRE_BOTH: Final = StpMode.EXPIRE_BOTH
SELF_TRADE: Final = EndReason.SELF_TRADE_PREVENTION
HOLD: Final = BalanceReason.HOLD
RELEASE: Final = BalanceReason.RELEASE


def place_order(engine: EngineState, command: PlaceOrder) -> list[Event]:
    # the fields once, in locals (reading a NamedTuple's field by name is a descriptor call)
    (
        command_id,
        ts,
        order_id,
        account,
        symbol,
        side,
        order_type,
        time_in_force,
        price,
        quantity,
        quote_quantity,
        post_only,
        stp_mode,
        client_order_id,
        _stop_price,
        _trailing_delta,
        iceberg_quantity,
        expire_time,
    ) = command
    market = engine.markets_by_symbol.get(symbol)
    if market is None:
        return _order_rejected(engine, command, RejectReason.UNKNOWN_MARKET)
    reason = _refusal(engine, market, command)
    if reason is None and (
        iceberg_quantity is not None or expire_time is not None or time_in_force is GTD
    ):
        reason = iceberg_refusal(command) or expire_time_refusal(command)
    if reason is not None:
        return _order_rejected(engine, command, reason)
    if order_type is not LIMIT and order_type is not MARKET:  # stop / take-profit
        return place_conditional(engine, market, command)
    units = market.units
    book = market.book
    is_buy = side is BUY
    lots = quantity or 0  # None only for a market buy by quote
    budget = quote_quantity or 0  # what a market buy by quote may spend
    # what the order locks up front, in the asset it pays with, and how it will pay its fills
    if price is not None:  # a limit order (only limits pass validation with a price)
        hold = order_hold(units, is_buy, price, lots)
        mode = BY_LOTS
    elif quote_quantity is not None:
        hold = budget
        mode = BUY_QUOTE
    elif is_buy:
        hold = 0
        mode = BUY_BASE
    else:
        hold = base_atoms(units, lots)
        mode = BY_LOTS
    pay_asset = units.quote if is_buy else units.base
    balances = engine.balances_book
    if hold > balances.available(account, pay_asset):
        return _order_rejected(engine, command, RejectReason.INSUFFICIENT_FUNDS)
    if price is not None:
        crosses = price >= book.best_ask if is_buy else price <= book.best_bid
        if crosses:
            if post_only:
                return _order_rejected(engine, command, RejectReason.POST_ONLY_WOULD_TAKE)
            if time_in_force is FOK and not _fok_fillable(
                book, is_buy, price, lots, account, stp_mode
            ):
                return _order_rejected(engine, command, RejectReason.FOK_NOT_FILLABLE)
        elif time_in_force is FOK:
            return _order_rejected(engine, command, RejectReason.FOK_NOT_FILLABLE)
        limit = price
    else:  # a market order takes the whole book
        crosses = True
        limit = MAX_PRICE_TICKS if is_buy else 1

    # accepted: its ids are used, its funds held
    engine.used_order_ids.add(order_id)
    if client_order_id is not None:
        used = engine.used_client_ids.get(account)
        if used is None:
            used = engine.used_client_ids[account] = set()
        used.add(client_order_id)
    order = Order(
        order_id,
        account,
        symbol,
        side,
        limit,
        lots,
        0,
        0,
        client_order_id,
        stp_mode,
        iceberg_quantity or 0,
        expire_time or 0,
    )
    seq = engine.seq + 1
    events: list[Event] = [
        order_accepted(
            seq=seq,
            command_id=command_id,
            ts=ts,
            order_id=order_id,
            account=account,
            symbol=symbol,
            side=side,
            type=order_type,
            time_in_force=time_in_force,
            price=price,
            quantity=quantity,
            quote_quantity=quote_quantity,
            post_only=post_only,
            stp_mode=stp_mode,
            client_order_id=client_order_id,
            stop_price=None,
            trailing_delta=None,
            iceberg_quantity=iceberg_quantity,
            expire_time=expire_time,
            list_id=None,
        )
    ]
    pays = balances.get(account, pay_asset)
    if hold:
        pays.available -= hold
        pays.locked += hold
        seq += 1
        events.append(
            balance_moved(
                seq,
                command_id,
                ts,
                f"o:{order_id}",
                account,
                pay_asset,
                pays,
                available_by=-hold,
                locked_by=hold,
                reason=HOLD,
            )
        )
    engine.seq = seq
    if crosses:
        stop, walked = fill_taker(
            engine, market, order, is_buy, mode, budget, pays, events, command_id, ts
        )
    else:
        stop, walked = None, ()
    _finish(engine, market, command, order, is_buy, mode, budget, stop, walked, events)
    triggers = market.triggers
    if triggers is not None and (triggers.trade_high or triggers.touched_legs):
        # conditional orders wait and it traded (or self-trade prevention ended a maker, maybe
        # an OCO leg): the engine runs the trigger check; an order that did neither moved no
        # price and ended no leg
        engine.after_order = market
    return events


def _finish(
    engine: EngineState,
    market: Market,
    command: PlaceOrder,
    order: Order,
    is_buy: bool,
    mode: int,
    budget: int,
    stop: EndReason | str | None,
    walked: Levels,
    events: list[Event],
) -> None:
    """The taker's outcome after matching (rests, filled or expired), the release of what it
    still holds, and the book's changes."""
    command_id = command.command_id
    ts = command.ts
    units = market.units
    seq = engine.seq
    filled = order.filled
    rested: Levels = ()
    left = 0  # what the order still holds as it ends: released
    if mode == BUY_QUOTE:
        left = budget - order.filled_quote
        if stop is None and not lots_affordable(units, 1, left):
            stop = BUDGET_SPENT  # not one more lot is affordable at any price
        seq += 1
        if stop is BUDGET_SPENT and filled:
            events.append(_order_filled(seq, command_id, ts, order))
        else:
            reason = SELF_TRADE if stop is SELF_TRADE else EndReason.NO_LIQUIDITY
            events.append(_order_expired(seq, command_id, ts, order, reason))
    elif filled == order.quantity:
        seq += 1
        events.append(_order_filled(seq, command_id, ts, order))
    elif (
        stop is None
        and command.type is LIMIT
        and (command.time_in_force is GTC or command.time_in_force is GTD)
    ):
        if order.display:
            new_slice(order)  # an iceberg shows its first slice
        level = market.book.append(order, is_buy)
        engine.remember_order(order)
        if order.expire_time:
            remember_expiry(engine, order.expire_time, order.order_id)
        rested = ((order.price, level.total),)
    else:
        if isinstance(stop, EndReason):
            reason = stop
        else:
            reason = EndReason.IOC_UNFILLED if command.type is LIMIT else EndReason.NO_LIQUIDITY
        seq += 1
        events.append(_order_expired(seq, command_id, ts, order, reason))
        if mode != BUY_BASE:
            left = order_hold(units, is_buy, order.price, order.quantity - filled)
    if left:
        asset = units.quote if is_buy else units.base
        pays = engine.balances_book.get(order.account, asset)
        pays.locked -= left
        pays.available += left
        seq += 1
        events.append(
            balance_moved(
                seq,
                command_id,
                ts,
                f"o:{order.order_id}",
                order.account,
                asset,
                pays,
                available_by=left,
                locked_by=-left,
                reason=RELEASE,
            )
        )
    engine.seq = seq
    if walked or rested:
        if is_buy:
            events.append(engine.book_changed(market, rested, walked, command_id, ts))
        else:
            events.append(engine.book_changed(market, walked, rested, command_id, ts))


def _order_filled(seq: int, command_id: str, ts: int, order: Order) -> OrderFilled:
    return order_filled(
        seq=seq,
        command_id=command_id,
        ts=ts,
        order_id=order.order_id,
        account=order.account,
        symbol=order.symbol,
        filled_quantity=order.filled,
        filled_quote=order.filled_quote,
    )


def _order_expired(
    seq: int, command_id: str, ts: int, order: Order, reason: EndReason
) -> OrderExpired:
    return order_expired(
        seq=seq,
        command_id=command_id,
        ts=ts,
        order_id=order.order_id,
        account=order.account,
        symbol=order.symbol,
        reason=reason,
        filled_quantity=order.filled,
        filled_quote=order.filled_quote,
    )


def _refusal(engine: EngineState, market: Market, command: PlaceOrder) -> RejectReason | None:
    """The first reason to refuse ``command`` before its funds and the book are looked at."""
    (
        _command_id,
        _ts,
        order_id,
        account,
        _symbol,
        side,
        order_type,
        time_in_force,
        price,
        lots,
        quote_quantity,
        post_only,
        stp,
        client_id,
        _stop_price,
        _trailing_delta,
        _iceberg_quantity,
        _expire_time,
    ) = command
    if market.halted:
        return RejectReason.MARKET_HALTED
    if order_id in engine.used_order_ids:
        return RejectReason.DUPLICATE_ORDER_ID
    if client_id is not None and client_id in engine.used_client_ids.get(account, ()):
        return RejectReason.DUPLICATE_CLIENT_ORDER_ID
    # (the checks that answer invalid_order come first, in any order: same reason code)
    if (
        (side is not BUY and side is not SELL)
        or (stp is not EXPIRE_TAKER and stp is not EXPIRE_MAKER and stp is not EXPIRE_BOTH)
        or (client_id is not None and not 0 < len(client_id) <= MAX_CLIENT_ORDER_ID)
    ):
        return RejectReason.INVALID_ORDER
    # conditional orders: their own fields are checked by matching.conditional; a plain order
    # has no stop price
    if order_type is not LIMIT and order_type is not MARKET:
        return None if is_conditional(order_type) else RejectReason.INVALID_ORDER
    if _stop_price is not None or _trailing_delta is not None:
        return RejectReason.INVALID_ORDER
    units = market.units
    if order_type is LIMIT:
        tif = time_in_force
        if (
            price is None
            or lots is None
            or quote_quantity is not None
            or (tif is not GTC and tif is not IOC and tif is not FOK and tif is not GTD)
            or (post_only and tif is not GTC and tif is not GTD)
        ):
            return RejectReason.INVALID_ORDER
        if not 0 < price <= units.max_price_ticks:
            return RejectReason.INVALID_PRICE
        if not 0 < lots <= units.max_lots:
            return RejectReason.INVALID_QUANTITY
        notional = notional_atoms(units, price, lots)
        if notional < units.min_notional_atoms:
            return RejectReason.BELOW_MIN_NOTIONAL
        if notional > units.max_notional_atoms:  # a sell's too: its filled_quote is stored
            return RejectReason.ABOVE_MAX_NOTIONAL
        return None
    if order_type is not MARKET or price is not None or post_only:
        return RejectReason.INVALID_ORDER
    if side is BUY:
        amount_wrong = (lots is None) == (quote_quantity is None)  # needs exactly one
    else:
        amount_wrong = lots is None or quote_quantity is not None
    if amount_wrong:
        return RejectReason.INVALID_ORDER
    if lots is not None and not 0 < lots <= units.max_lots:
        return RejectReason.INVALID_QUANTITY
    if quote_quantity is not None:
        if not 0 < quote_quantity <= units.max_notional_atoms:
            return RejectReason.INVALID_QUANTITY
        if quote_quantity < units.min_notional_atoms:
            return RejectReason.BELOW_MIN_NOTIONAL
    return None


def _fok_fillable(
    book: Book, is_buy: bool, limit: int, lots: int, account: int, stp_mode: StpMode
) -> bool:
    """Would a FOK of ``lots`` fill completely? Applies self-trade prevention as matching would.

    Icebergs as matching reaches them: one pass over the level in queue order, each iceberg
    giving its visible slice (its refill goes to the back, behind every order of this pass, so
    an own order in the pass stops the taker before it); once the pass is through, only other
    accounts' icebergs are left at that price and the taker gets all they hide."""
    needed = lots
    for level in book.levels(not is_buy):
        if (level.price > limit) if is_buy else (level.price < limit):
            return False
        hidden = 0
        maker = level.head
        while maker is not None:
            if maker.account == account:
                if stp_mode is not EXPIRE_MAKER:
                    return False
            elif maker.display:
                needed -= maker.visible
                if needed <= 0:
                    return True
                hidden += maker.quantity - maker.filled - maker.visible
            else:
                needed -= maker.quantity - maker.filled
                if needed <= 0:
                    return True
            maker = maker.next
        needed -= hidden
        if needed <= 0:
            return True
    return False


def _order_rejected(engine: EngineState, command: PlaceOrder, reason: RejectReason) -> list[Event]:
    engine.seq += 1
    return [
        order_rejected(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            order_id=command.order_id,
            account=command.account,
            symbol=command.symbol,
            client_order_id=command.client_order_id,
            reason=reason,
            side=command.side,
            type=command.type,
            time_in_force=command.time_in_force,
            price=command.price,
            quantity=command.quantity,
            quote_quantity=command.quote_quantity,
            post_only=command.post_only,
            stp_mode=command.stp_mode,
            stop_price=command.stop_price,
            trailing_delta=command.trailing_delta,
            iceberg_quantity=command.iceberg_quantity,
            expire_time=command.expire_time,
        )
    ]
