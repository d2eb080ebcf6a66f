"""The fill loop: an incoming order (the taker) against the other side of its book.

Decided semantics (see ``matching.engine`` for the rest of the contract)
------------------------------------------------------------------------
*Fills* are at the maker's price, best price first and FIFO within a level, while the taker
wants more and the price is within its limit (a market order's limit is the whole book).

*Fees* are charged in the asset each party receives (buyer in base, seller in quote), maker rate
for the resting order, taker rate for the incoming one, rounded up (``matching.arith``). Each
party's ``trade`` movement is net of its fee; the fee account gets a ``fee`` movement per asset.

*Self-trade prevention* uses the taker's ``stp_mode``: ``expire_taker`` (the taker's rest
expires, earlier fills stand), ``expire_maker`` (the resting order expires and matching goes
on), ``expire_both``.

*Settlement* of one fill, in this event order: ``TradeExecuted``; the taker pays (from its
hold; a market buy by base quantity from available quote); a limit buy filling below its limit
releases the difference (``release``); the taker receives; the maker pays (from its hold); the
maker receives; the buyer's fee, the seller's fee. Every ``BalanceChanged`` shows its balance
right after its own movement; all of a fill's movements share the cause ``t:<symbol>:<trade_id>``.
A maker filled completely leaves the book with ``OrderFilled``.

*Icebergs.* A resting iceberg trades at most its visible slice at its place in the queue; when
that slice is filled and quantity remains, it is refilled at the back of its level
(``matching.book``) and the same taker may reach it again there, after the orders that were
behind it. As a taker an iceberg trades its whole quantity like any order.

Taker modes: how the taker pays and when it stops
-------------------------------------------------
``BY_LOTS``: limit orders and market sells hold what they can spend up front and fill by
quantity. ``BUY_BASE``: a market buy by base quantity holds nothing, pays each fill from
available quote and takes, level by level, only the lots that quote covers. ``BUY_QUOTE``: a
market buy by quote amount spends its held ``quote_quantity`` and wants any quantity.
"""

from __future__ import annotations

from typing import Final

from matching.arith import MAX_QUANTITY_LOTS, lots_affordable, notional_atoms, trade_amounts
from matching.balances import Bal, balance_moved
from matching.book import Order
from matching.emit import order_filled, trade_executed
from matching.errors import EndReason
from matching.events import Event, OrderExpired
from matching.state import EngineState, Levels, Market
from matching.types import BalanceReason, StpMode

BY_LOTS: Final = 0
BUY_BASE: Final = 1
BUY_QUOTE: Final = 2

BUDGET_SPENT: Final = "budget_spent"
"""Why a market buy by quote stopped when its unspent quote cannot buy one more lot at the next
maker's price (it then counts as filled, not expired)."""

# enum members bound once: an attribute of an enum class is a slower lookup than a global
EXPIRE_TAKER: Final = StpMode.EXPIRE_TAKER
EXPIRE_BOTH: Final = StpMode.EXPIRE_BOTH
SELF_TRADE: Final = EndReason.SELF_TRADE_PREVENTION
TRADE: Final = BalanceReason.TRADE
FEE: Final = BalanceReason.FEE
RELEASE: Final = BalanceReason.RELEASE


def fill_taker(
    engine: EngineState,
    market: Market,
    taker: Order,
    is_buy: bool,
    mode: int,
    budget: int,
    taker_pays: Bal,
    events: list[Event],
    command_id: str,
    ts: int,
) -> tuple[EndReason | str | None, Levels]:
    """Fill ``taker`` against the other side; return why it stopped early and the changed levels.

    The stop reason is None when the taker ran out of quantity, of book or of its limit; an
    ``EndReason`` for self-trade prevention or (``BUY_BASE``) insufficient funds;
    ``BUDGET_SPENT`` for a ``BUY_QUOTE`` that cannot pay for the next lot. The changed levels
    are the maker side's ``(price, total now)``, best first (0: the level is gone).
    ``taker_pays`` is the taker's balance of the asset it pays with; ``budget`` a ``BUY_QUOTE``'s
    quote_quantity.
    """
    book = market.book
    units = market.units
    symbol = units.symbol
    base = units.base
    quote = units.quote
    maker_levels = book.asks if is_buy else book.bids
    taker_pays_asset = quote if is_buy else base  # what the maker receives
    taker_gets_asset = base if is_buy else quote  # what the maker pays
    account = taker.account
    stp_mode = taker.stp_mode
    balances = engine.balances_book
    taker_gets = balances.get(account, taker_gets_asset)
    fee_account = engine.fee_account
    fee_balances = market.fee_balances
    if fee_balances is None:
        fee_balances = market.fee_balances = (
            balances.get(fee_account, base),
            balances.get(fee_account, quote),
        )
    fee_in_base, fee_in_quote = fee_balances
    limit = taker.price
    wanted = MAX_QUANTITY_LOTS if mode == BUY_QUOTE else taker.quantity - taker.filled
    # the taker's cumulative fill and the market's trade counter stay in locals until the end
    filled = taker.filled
    filled_quote = taker.filled_quote
    trade_id = market.trade_id
    walked: list[tuple[int, int]] = []
    stop: EndReason | str | None = None
    seq = engine.seq
    traded_at = 0  # the last trade's price: the market's last price (conditional orders)
    first_at = 0  # the first's: with the last, the range this taker traded over (it is monotone)
    # the market's conditional orders when OCO legs rest in it (None: the usual case, one test)
    legs = market.triggers
    if legs is not None and not legs.legs:
        legs = None
    while wanted:
        price = book.best_ask if is_buy else book.best_bid
        if (price > limit) if is_buy else (price < limit):
            break  # also when that side is empty: its sentinel price is beyond any limit
        level = maker_levels[price]
        total_before = level.total
        maker = level.head
        while maker is not None:
            next_maker = maker.next
            if maker.account == account:  # self-trade prevention, in the taker's mode
                if stp_mode is EXPIRE_TAKER:
                    stop = SELF_TRADE
                    break
                engine.seq = seq
                engine.end_resting(market, maker, OrderExpired, SELF_TRADE, events, command_id, ts)
                if legs is not None and maker.order_id in legs.legs:
                    legs.touched_legs.append(maker.order_id)  # an OCO leg ended: settle its list
                seq = engine.seq
                if stp_mode is EXPIRE_BOTH:
                    stop = SELF_TRADE
                    break
                maker = next_maker
                continue
            # an iceberg trades its visible slice at this place in the queue (matching.book)
            maker_left = maker.visible if maker.display else maker.quantity - maker.filled
            lots = wanted if wanted < maker_left else maker_left
            if mode != BY_LOTS:
                spendable = taker_pays.available if mode == BUY_BASE else budget - filled_quote
                affordable = lots_affordable(units, price, spendable)
                if affordable < lots:
                    lots = affordable
                    if not lots:
                        stop = EndReason.INSUFFICIENT_FUNDS if mode == BUY_BASE else BUDGET_SPENT
                        break
            quote_amount, base_amount, buyer_fee, seller_fee = trade_amounts(
                units, price, lots, is_buy
            )
            if is_buy:
                taker_fee, maker_fee = buyer_fee, seller_fee
                taker_paid, maker_paid = quote_amount, base_amount
            else:
                taker_fee, maker_fee = seller_fee, buyer_fee
                taker_paid, maker_paid = base_amount, quote_amount
            trade_id += 1
            traded_at = price
            if not first_at:
                first_at = price
            wanted -= lots
            filled += lots
            filled_quote += quote_amount
            maker.filled_quote += quote_amount
            maker_done = book.fill(level, maker, lots)
            if legs is not None and maker.order_id in legs.legs:
                legs.touched_legs.append(maker.order_id)  # an OCO leg traded: settle its list
            cause = f"t:{symbol}:{trade_id}"
            seq += 1
            events.append(
                trade_executed(
                    seq=seq,
                    command_id=command_id,
                    ts=ts,
                    symbol=symbol,
                    trade_id=trade_id,
                    price=price,
                    quantity=lots,
                    quote_amount=quote_amount,
                    taker_side=taker.side,
                    maker_order_id=maker.order_id,
                    taker_order_id=taker.order_id,
                    maker_account=maker.account,
                    taker_account=account,
                    maker_fee=maker_fee,
                    maker_fee_asset=taker_pays_asset,
                    taker_fee=taker_fee,
                    taker_fee_asset=taker_gets_asset,
                    maker_filled=maker.filled,
                    maker_filled_quote=maker.filled_quote,
                    taker_filled=filled,
                    taker_filled_quote=filled_quote,
                )
            )
            if mode == BUY_BASE:  # paid from available quote
                taker_pays.available -= taker_paid
                paid_available, paid_locked = -taker_paid, 0
            else:  # paid from the hold
                taker_pays.locked -= taker_paid
                paid_available, paid_locked = 0, -taker_paid
            seq += 1
            events.append(
                balance_moved(
                    seq,
                    command_id,
                    ts,
                    cause,
                    account,
                    taker_pays_asset,
                    taker_pays,
                    available_by=paid_available,
                    locked_by=paid_locked,
                    reason=TRADE,
                )
            )
            if is_buy and mode == BY_LOTS and price < limit:  # held at the limit, paid less
                improvement = notional_atoms(units, limit - price, lots)
                taker_pays.locked -= improvement
                taker_pays.available += improvement
                seq += 1
                events.append(
                    balance_moved(
                        seq,
                        command_id,
                        ts,
                        cause,
                        account,
                        taker_pays_asset,
                        taker_pays,
                        available_by=improvement,
                        locked_by=-improvement,
                        reason=RELEASE,
                    )
                )
            taker_got = maker_paid - taker_fee
            taker_gets.available += taker_got
            seq += 1
            events.append(
                balance_moved(
                    seq,
                    command_id,
                    ts,
                    cause,
                    account,
                    taker_gets_asset,
                    taker_gets,
                    available_by=taker_got,
                    locked_by=0,
                    reason=TRADE,
                )
            )
            maker_pays = balances.get(maker.account, taker_gets_asset)
            maker_pays.locked -= maker_paid
            seq += 1
            events.append(
                balance_moved(
                    seq,
                    command_id,
                    ts,
                    cause,
                    maker.account,
                    taker_gets_asset,
                    maker_pays,
                    available_by=0,
                    locked_by=-maker_paid,
                    reason=TRADE,
                )
            )
            maker_got = taker_paid - maker_fee
            maker_gets = balances.get(maker.account, taker_pays_asset)
            maker_gets.available += maker_got
            seq += 1
            events.append(
                balance_moved(
                    seq,
                    command_id,
                    ts,
                    cause,
                    maker.account,
                    taker_pays_asset,
                    maker_gets,
                    available_by=maker_got,
                    locked_by=0,
                    reason=TRADE,
                )
            )
            for fee, asset, fee_balance in (
                (buyer_fee, base, fee_in_base),
                (seller_fee, quote, fee_in_quote),
            ):
                if fee:
                    fee_balance.available += fee
                    seq += 1
                    events.append(
                        balance_moved(
                            seq,
                            command_id,
                            ts,
                            cause,
                            fee_account,
                            asset,
                            fee_balance,
                            available_by=fee,
                            locked_by=0,
                            reason=FEE,
                        )
                    )
            if maker_done:
                engine.forget_order(maker)
                seq += 1
                events.append(
                    order_filled(
                        seq=seq,
                        command_id=command_id,
                        ts=ts,
                        order_id=maker.order_id,
                        account=maker.account,
                        symbol=symbol,
                        filled_quantity=maker.filled,
                        filled_quote=maker.filled_quote,
                    )
                )
            if not wanted:
                break
            if next_maker is None and not maker_done and maker.display:
                next_maker = maker  # an iceberg refilled at the back: it is next again
            maker = next_maker
        if level.total != total_before:  # any fill or expiry lowers it: the level changed
            walked.append((price, level.total))  # 0 if it was emptied (and dropped)
        if stop is not None:
            break
    taker.filled = filled
    taker.filled_quote = filled_quote
    market.trade_id = trade_id
    if traded_at:
        market.last_price = traded_at
        triggers = market.triggers
        if triggers is not None:  # conditional orders wait: their check reads the range
            low, high = (first_at, traded_at) if is_buy else (traded_at, first_at)
            if not triggers.trade_low or low < triggers.trade_low:
                triggers.trade_low = low
            if high > triggers.trade_high:
                triggers.trade_high = high
    engine.seq = seq
    return stop, tuple(walked)
