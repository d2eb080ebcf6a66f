"""The matching engine: ``MatchingEngine.apply(command) -> list[Event]``.

Pure and deterministic: no clock, no randomness, no I/O. The same command stream always gives
the same events and the same :meth:`MatchingEngine.state_hash`. ``apply`` never raises on bad
input (rejections are events); it assumes well-typed commands, which ``matching.codec``
guarantees for everything that arrives over the network.

Decided semantics (the contract other components code against)
---------------------------------------------------------------
*Identities.* Account ids are ints, asset codes strs. The fee account is an ordinary account
given at construction; it receives every fee (reason ``fee``). Order ids are unique over all
orders ever *accepted*; client order ids are unique per account over all that account's accepted
orders, open or closed. A rejected order leaves no trace: its ids are not consumed.

*PlaceOrder validation*, first failure wins: ``unknown_market``, ``market_halted``,
``duplicate_order_id``, ``duplicate_client_order_id``, ``invalid_order`` (field combination:
LIMIT needs price and quantity and no quote_quantity; MARKET has no price; market sell needs
quantity; market buy exactly one of quantity / quote_quantity; post_only only on LIMIT GTC;
client_order_id, if given, 1..64 chars), ``invalid_price`` (1..``max_price_ticks``: 2**62 ticks
and a price below 10**19), ``invalid_quantity`` (lots 1..``max_lots``: 2**62 and below 10**19
units; quote_quantity 1..``max_notional_atoms``), ``below_min_notional`` (limit: price x
quantity; market buy by quote: quote_quantity; market orders by base quantity are not checked,
their price is unknown), ``above_max_notional`` (a limit order's price x quantity above
``max_notional_atoms``, 10**19 quote units less one atom: ``matching.arith``, "Bounds"),
``insufficient_funds`` (the order's hold exceeds
available), ``post_only_would_take``, ``fok_not_fillable`` (the quantity fillable within the
limit, counting self-trade prevention exactly as matching will apply it, is short).

*Holds.* A limit buy holds ``price x quantity`` quote, any sell its base, a market buy by quote
its ``quote_quantity``. A market buy by base quantity holds nothing: it pays each fill from
available quote and fills, level by level, only the lots available quote covers (fees are taken
from the base received), then expires ``insufficient_funds``; it can never overspend. A limit
buy filling below its limit releases the difference at once (reason ``release``). Whatever an
order still holds when it ends is released (cause ``o:<order_id>``).

*Market orders* never rest. The unfilled rest expires ``no_liquidity`` (book exhausted) or
``self_trade_prevention``. A market buy by quote ends when its unspent quote cannot buy one
more lot at the next maker's price: ``OrderFilled`` if it bought anything, else
``OrderExpired(no_liquidity)``; the unspent quote is released.

*Fees* are charged in the asset each party receives (buyer in base, seller in quote), maker rate
for the resting order, taker rate for the incoming one, rounded up (``matching.arith``). Each
party's ``trade`` movement is net of its fee; the fee account gets a ``fee`` movement per asset.

*Self-trade prevention* uses the taker's ``stp_mode``: ``expire_taker`` (the taker's rest
expires, earlier fills stand), ``expire_maker`` (the resting order expires and matching goes
on), ``expire_both``.

*Cancel / CancelAll / Amend* only see the commanding account's orders in the named market;
another account's order is ``order_not_found``. They are refused with ``CommandRejected``.
A halted market refuses PlaceOrder and AmendOrder (``market_halted``) and allows cancels.
CancelAll with nothing to cancel returns no events.

*Amend.* ``new_quantity`` is the new total quantity and must stay above what is filled
(else ``invalid_quantity``). Keeping the price and not increasing the quantity keeps time
priority; a price change or an increase re-queues the order at the back of its level. An amend
never trades: a new price that would cross the book is refused ``post_only_would_take``. The
hold is adjusted by the exact difference (``hold`` or ``release``, cause ``a:<order_id>:<seq>``).

*Transfers.* Deposit credits; Withdraw holds (``insufficient_funds`` if not available);
SettleWithdrawal removes the held funds; ReleaseWithdrawal returns them. Balance causes are
``x:<transfer_id>``. A transfer id that already took effect makes Deposit / Withdraw a no-op
(``[]``), and a repeated settle or release a no-op; settling a released withdrawal (or the
reverse) is ``duplicate_transfer``; an id that is no withdrawal is ``unknown_transfer``;
amounts outside 1..2**126 are ``invalid_amount``, and so is a deposit above
``max_transfer_atoms`` of the asset's decimals, or whose decimals are unknown or disagree with
the markets'. A deposit that would take what the engine holds of the asset (deposited -
withdrawn) above ``max_balance_atoms`` is ``balance_limit_exceeded``: that one rule keeps every
balance, locked amount and fee-account balance of the asset within what the database stores.
Rejected transfers consume nothing.

*Events.* ``seq`` +1 per event across the engine. ``BalanceChanged`` is unique per
``(account, asset, reason, cause)``: causes are ``x:<transfer_id>``, ``o:<order_id>`` (order
hold and final release), ``t:<symbol>:<trade_id>`` (fills, price-improvement release, fees) and
``a:<order_id>:<seq>`` (amends). ``trade_id`` counts per market from 1. ``BookChanged`` is
emitted once per command per market whose levels changed, best price first per side, with
``update_id`` +1 per market.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

from matching.arith import (
    MAX_AMOUNT_ATOMS,
    MAX_DECIMALS,
    MAX_PRICE_TICKS,
    MAX_QUANTITY_LOTS,
    PPM,
    InvalidMarketSpec,
    MarketUnits,
    compile_market,
    max_balance_atoms,
    max_transfer_atoms,
    order_hold,
)
from matching.balances import DEPOSITED, PENDING, RELEASED, SETTLED, Bal, Balances
from matching.book import NO_ASK, NO_BID, Book, Level, Order
from matching.commands import (
    AddMarket,
    AmendOrder,
    CancelAll,
    CancelOrder,
    Command,
    Deposit,
    PlaceOrder,
    ReleaseWithdrawal,
    SetMarketStatus,
    SettleWithdrawal,
    UpdateMarket,
    Withdraw,
)
from matching.errors import EndReason, EngineInvariantError, RejectReason
from matching.events import (
    BalanceChanged,
    BookChanged,
    CommandRejected,
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
    TransferApplied,
    TransferRejected,
)
from matching.types import (
    BalanceReason,
    MarketSpec,
    MarketStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)

MAX_CLIENT_ORDER_ID = 64

# Events are built with ``tuple.__new__(EventClass, (fields...))``: the same NamedTuple, half
# the cost of calling the class (no Python-level ``__new__`` frame). Arity is checked by the
# codec (``encode_event`` refuses a record of the wrong length) and by the state-machine test.
_new: Callable[..., Any] = tuple.__new__
_alloc = object.__new__

BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
EXPIRE_TAKER = StpMode.EXPIRE_TAKER
EXPIRE_MAKER = StpMode.EXPIRE_MAKER
EXPIRE_BOTH = StpMode.EXPIRE_BOTH
R_TRADE = BalanceReason.TRADE
R_FEE = BalanceReason.FEE
R_HOLD = BalanceReason.HOLD
R_RELEASE = BalanceReason.RELEASE
R_DEPOSIT = BalanceReason.DEPOSIT
R_WITHDRAWAL = BalanceReason.WITHDRAWAL
E_STP = EndReason.SELF_TRADE_PREVENTION
E_USER_CANCELLED = EndReason.USER_CANCELLED
# (enum membership is tested with ``is``: Enum.__hash__ is a Python-level call)

# market-order modes of the matching loop
_BY_LOTS = 0  # limit orders and market sells: hold known up front, fill by quantity
_BUY_BASE = 1  # market buy by base quantity: pay from available quote
_BUY_QUOTE = 2  # market buy by quote amount: spend the held quote_quantity


class Depth(NamedTuple):
    symbol: str
    last_update_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class OrderView(NamedTuple):
    """An open order as the engine holds it (price ticks, lots, quote atoms)."""

    order_id: int
    account: int
    symbol: str
    side: Side
    price: int
    quantity: int
    filled: int
    filled_quote: int
    remaining: int
    client_order_id: str | None


# What the fill loop needs for a taker of one side, precomputed per market (``Market.takers``):
# (maker levels, symbol, base, quote, quote atoms per tick-lot, base atoms per lot,
#  asset the maker pays = the taker's fee asset, asset the maker gets = the maker's fee asset,
#  buyer's fee ppm, seller's fee ppm)
_TakerSide = tuple[dict[int, Level], str, str, str, int, int, str, str, int, int]


def _taker_sides(book: Book, u: MarketUnits) -> tuple[_TakerSide, _TakerSide]:
    """``[False]``: for a sell taker (the makers are bids); ``[True]``: for a buy taker."""
    ntl = u.notional_atoms_per_tick_lot
    return (
        (book.bids, u.symbol, u.base, u.quote, ntl, u.lot_atoms, u.quote, u.base,
         u.maker_fee_ppm, u.taker_fee_ppm),
        (book.asks, u.symbol, u.base, u.quote, ntl, u.lot_atoms, u.base, u.quote,
         u.taker_fee_ppm, u.maker_fee_ppm),
    )  # fmt: skip


class Market:
    """A market's spec, its integer units, its book and its counters."""

    __slots__ = ("book", "fee_bals", "halted", "spec", "takers", "trade_id", "units", "update_id")

    def __init__(self, spec: MarketSpec, units: MarketUnits) -> None:
        self.spec = spec
        self.book = Book(spec.symbol)
        self.set_units(units)
        self.trade_id = 0
        self.update_id = 0
        self.halted = spec.status is MarketStatus.HALTED
        self.fee_bals: tuple[Bal, Bal] | None = None  # fee account's (base, quote), cached

    def set_units(self, u: MarketUnits) -> None:
        """Set the integer units and what the fill loop derives from them, once per change."""
        self.units = u
        self.takers = _taker_sides(self.book, u)


def _book_changes(
    book: Book, bid_prices: dict[int, None], ask_prices: dict[int, None]
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    bids = book.bids
    asks = book.asks
    b = tuple(
        (p, lv.total if (lv := bids.get(p)) is not None else 0)
        for p in sorted(bid_prices, reverse=True)
    )
    a = tuple((p, lv.total if (lv := asks.get(p)) is not None else 0) for p in sorted(ask_prices))
    return b, a


class MatchingEngine:
    """All markets, books and balances of one matcher. See the module docstring."""

    def __init__(self, fee_account: int) -> None:
        self.fee_account = fee_account
        self.seq = 0
        self.markets_by_symbol: dict[str, Market] = {}
        self.balances_book = Balances()
        self.open_orders_by_id: dict[int, Order] = {}
        self.open_by_account: dict[int, dict[int, Order]] = {}
        self.open_by_client_id: dict[int, dict[str, Order]] = {}
        self.used_client_ids: dict[int, set[str]] = {}
        self.used_order_ids: set[int] = set()
        self._handlers: dict[type, Callable[[Any], list[Event]]] = {
            PlaceOrder: self._place,
            CancelOrder: self._cancel,
            CancelAll: self._cancel_all,
            AmendOrder: self._amend,
            Deposit: self._deposit,
            Withdraw: self._withdraw,
            SettleWithdrawal: self._settle,
            ReleaseWithdrawal: self._release,
            AddMarket: self._add_market,
            UpdateMarket: self._update_market,
            SetMarketStatus: self._set_status,
        }

    # ------------------------------------------------------------------ entry point

    def apply(self, cmd: Command) -> list[Event]:
        """Apply one command; return its events (possibly none). Never raises on bad input."""
        # the two commands that make most of the traffic skip the dict lookup (and the bound
        # method object it returns); an identity test on the class is cheaper
        kind = type(cmd)
        if kind is PlaceOrder:
            return self._place(cmd)  # type: ignore[arg-type]  # mypy does not narrow via `kind`
        if kind is CancelOrder:
            return self._cancel(cmd)  # type: ignore[arg-type]
        handler = self._handlers.get(kind)
        if handler is None:
            self.seq += 1
            return [
                _new(
                    CommandRejected,
                    (
                        self.seq,
                        str(getattr(cmd, "command_id", "")),
                        int(getattr(cmd, "ts", 0) or 0),
                        RejectReason.INVALID_COMMAND,
                    ),
                )
            ]
        return handler(cmd)

    # ------------------------------------------------------------------ read views

    def depth(self, symbol: str, limit: int) -> Depth:
        """Top ``limit`` levels per side; an unknown market has an empty depth, update id 0."""
        m = self.markets_by_symbol.get(symbol)
        if m is None:
            return Depth(symbol, 0, [], [])
        bids, asks = m.book.depth(max(0, limit))
        return Depth(symbol, m.update_id, bids, asks)

    def balance(self, account: int, asset: str) -> tuple[int, int]:
        """``(available, locked)`` atoms."""
        return self.balances_book.peek(account, asset)

    def balances(self, account: int) -> dict[str, tuple[int, int]]:
        return self.balances_book.of(account)

    def order(self, order_id: int) -> OrderView | None:
        """An open (resting) order, or None."""
        o = self.open_orders_by_id.get(order_id)
        return None if o is None else _view(o)

    def open_orders(self, account: int, symbol: str | None = None) -> list[OrderView]:
        """The account's open orders in the order they were accepted."""
        return [
            _view(o)
            for o in self.open_by_account.get(account, {}).values()
            if symbol is None or o.symbol == symbol
        ]

    def market(self, symbol: str) -> MarketSpec | None:
        m = self.markets_by_symbol.get(symbol)
        return None if m is None else m.spec

    def markets(self) -> list[MarketSpec]:
        return [m.spec for m in self.markets_by_symbol.values()]

    def state_hash(self) -> str:
        """sha256 hex of the canonical snapshot (``matching.snapshot.dump``)."""
        from matching.snapshot import dump  # snapshot imports this module

        blob = json.dumps(dump(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    # ------------------------------------------------------------------ helpers

    def _rejected(self, cmd: Any, reason: RejectReason) -> list[Event]:
        self.seq = s = self.seq + 1
        return [
            _new(
                CommandRejected,
                (
                    s,
                    cmd.command_id,
                    cmd.ts,
                    reason,
                ),
            )
        ]

    def _order_rejected(self, c: PlaceOrder, reason: RejectReason) -> list[Event]:
        self.seq = s = self.seq + 1
        return [
            _new(
                OrderRejected,
                (
                    s,
                    c.command_id,
                    c.ts,
                    c.order_id,
                    c.account,
                    c.symbol,
                    c.client_order_id,
                    reason,
                    c.side,
                    c.type,
                    c.time_in_force,
                    c.price,
                    c.quantity,
                    c.quote_quantity,
                    c.post_only,
                    c.stp_mode,
                ),
            )
        ]

    def _remember_client_id(self, o: Order) -> None:
        if o.client_order_id is not None:
            by_cid = self.open_by_client_id.get(o.account)
            if by_cid is None:
                by_cid = self.open_by_client_id[o.account] = {}
            by_cid[o.client_order_id] = o

    def _remember(self, o: Order) -> None:
        """Index a newly resting order."""
        self.open_orders_by_id[o.order_id] = o
        by_acct = self.open_by_account.get(o.account)
        if by_acct is None:
            by_acct = self.open_by_account[o.account] = {}
        by_acct[o.order_id] = o
        if o.client_order_id is not None:
            by_cid = self.open_by_client_id.get(o.account)
            if by_cid is None:
                by_cid = self.open_by_client_id[o.account] = {}
            by_cid[o.client_order_id] = o

    def _end_resting(
        self,
        m: Market,
        o: Order,
        event: type[OrderCancelled] | type[OrderExpired],
        reason: EndReason,
        ev: list[Event],
        cid: str,
        ts: int,
    ) -> int:
        """Take a resting order out (cancel / expire), release its hold; uses ``self.seq``.

        Returns the order's price level total afterwards (0: the level is gone).
        """
        is_buy = o.side is BUY
        book = m.book
        price = o.price
        level = (book.bids if is_buy else book.asks)[price]
        rem = o.quantity - o.filled
        level.total = total = level.total - rem
        book.unlink(o, level)
        oid = o.order_id
        account = o.account
        del self.open_orders_by_id[oid]
        del self.open_by_account[account][oid]
        if o.client_order_id is not None:
            del self.open_by_client_id[account][o.client_order_id]
        u = m.units
        asset = u.quote if is_buy else u.base
        hold = order_hold(u, is_buy, price, rem)
        bal = self.balances_book.accounts[account][asset]  # it holds funds, so it exists
        bal.locked -= hold
        bal.available += hold
        s = self.seq
        ev.append(_new(event, (s + 1, cid, ts, oid, account, o.symbol, reason, o.filled,
                o.filled_quote)))  # fmt: skip
        ev.append(_new(BalanceChanged, (s + 2, cid, ts, account, asset, bal.available, bal.locked,
                hold, -hold, R_RELEASE, f"o:{oid}")))  # fmt: skip
        self.seq = s + 2
        return total

    def _emit_book(
        self,
        m: Market,
        bid_prices: dict[int, None],
        ask_prices: dict[int, None],
        ev: list[Event],
        cid: str,
        ts: int,
    ) -> None:
        bids, asks = _book_changes(m.book, bid_prices, ask_prices)
        m.update_id += 1
        self.seq += 1
        ev.append(_new(BookChanged, (self.seq, cid, ts, m.spec.symbol, m.update_id, bids,
                asks)))  # fmt: skip

    def _lookup(
        self, account: int, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        if order_id is not None:
            o = self.open_orders_by_id.get(order_id)
        elif client_order_id is not None:
            o = self.open_by_client_id.get(account, {}).get(client_order_id)
        else:
            return None
        if o is None or o.account != account or o.symbol != symbol:
            return None
        return o

    # ------------------------------------------------------------------ orders

    def _place(self, c: PlaceOrder) -> list[Event]:
        (
            cmd_id,
            ts,
            oid,
            acct,
            symbol,
            side,
            typ,
            tif,
            price,
            qty,
            qq,
            post_only,
            stp,
            client_id,
        ) = c
        m = self.markets_by_symbol.get(symbol)
        if m is None:
            return self._order_rejected(c, RejectReason.UNKNOWN_MARKET)
        if m.halted:
            return self._order_rejected(c, RejectReason.MARKET_HALTED)
        if oid in self.used_order_ids:
            return self._order_rejected(c, RejectReason.DUPLICATE_ORDER_ID)
        if client_id is not None and client_id in self.used_client_ids.get(acct, ()):
            return self._order_rejected(c, RejectReason.DUPLICATE_CLIENT_ORDER_ID)
        is_buy = side is BUY
        # (the checks that answer invalid_order come first, in any order: same reason code)
        if (
            (not is_buy and side is not SELL)
            or (stp is not EXPIRE_TAKER and stp is not EXPIRE_MAKER and stp is not EXPIRE_BOTH)
            or (client_id is not None and not 0 < len(client_id) <= MAX_CLIENT_ORDER_ID)
        ):
            return self._order_rejected(c, RejectReason.INVALID_ORDER)
        u = m.units
        book = m.book
        pay_asset = u.quote if is_buy else u.base
        # hold: what the order locks up front, in the asset it pays with
        if typ is LIMIT:
            if (
                price is None
                or qty is None
                or qq is not None
                or (tif is not GTC and tif is not IOC and tif is not FOK)
                or (post_only and tif is not GTC)
            ):
                return self._order_rejected(c, RejectReason.INVALID_ORDER)
            if not 0 < price <= u.max_price_ticks:
                return self._order_rejected(c, RejectReason.INVALID_PRICE)
            if not 0 < qty <= u.max_lots:
                return self._order_rejected(c, RejectReason.INVALID_QUANTITY)
            lots = qty
            budget = 0
            notional = price * lots * u.notional_atoms_per_tick_lot  # arith.notional_atoms
            if notional < u.min_notional_atoms:
                return self._order_rejected(c, RejectReason.BELOW_MIN_NOTIONAL)
            if notional > u.max_notional_atoms:  # a sell's too: its filled_quote is stored
                return self._order_rejected(c, RejectReason.ABOVE_MAX_NOTIONAL)
            hold = notional if is_buy else lots * u.lot_atoms  # arith.base_atoms
            mode = _BY_LOTS
        elif typ is MARKET:
            if price is not None or post_only:
                return self._order_rejected(c, RejectReason.INVALID_ORDER)
            if is_buy:
                if (qty is None) == (qq is None):
                    return self._order_rejected(c, RejectReason.INVALID_ORDER)
            elif qty is None or qq is not None:
                return self._order_rejected(c, RejectReason.INVALID_ORDER)
            if qty is not None and not 0 < qty <= u.max_lots:
                return self._order_rejected(c, RejectReason.INVALID_QUANTITY)
            if qq is not None and not 0 < qq <= u.max_notional_atoms:
                return self._order_rejected(c, RejectReason.INVALID_QUANTITY)
            lots = qty or 0  # None only for a market buy by quote
            budget = qq or 0
            if qq is not None:
                if budget < u.min_notional_atoms:
                    return self._order_rejected(c, RejectReason.BELOW_MIN_NOTIONAL)
                hold = budget
                mode = _BUY_QUOTE
            else:
                hold = 0 if is_buy else lots * u.lot_atoms
                mode = _BUY_BASE if is_buy else _BY_LOTS
        else:
            return self._order_rejected(c, RejectReason.INVALID_ORDER)
        assets = self.balances_book.accounts.get(acct)
        pay = None if assets is None else assets.get(pay_asset)
        if pay is None:
            if hold:
                return self._order_rejected(c, RejectReason.INSUFFICIENT_FUNDS)
            pay = self.balances_book.get(acct, pay_asset)
        elif hold > pay.available:
            return self._order_rejected(c, RejectReason.INSUFFICIENT_FUNDS)
        if price is not None:
            crosses = price >= book.best_ask if is_buy else price <= book.best_bid
            if crosses:
                if post_only:
                    return self._order_rejected(c, RejectReason.POST_ONLY_WOULD_TAKE)
                if tif is FOK and not self._fok_fillable(book, is_buy, price, lots, acct, stp):
                    return self._order_rejected(c, RejectReason.FOK_NOT_FILLABLE)
            elif tif is FOK:
                return self._order_rejected(c, RejectReason.FOK_NOT_FILLABLE)
            limit = price
        else:
            crosses = True
            limit = MAX_PRICE_TICKS if is_buy else 1
        # ---- accepted
        self.used_order_ids.add(oid)
        if client_id is not None:
            used = self.used_client_ids.get(acct)
            if used is None:
                used = self.used_client_ids[acct] = set()
            used.add(client_id)
        # the Order's slots are set directly: calling the class (``Order.__init__``) costs
        # about 80 ns more per order
        o = _alloc(Order)
        o.order_id = oid
        o.account = acct
        o.symbol = symbol
        o.side = side
        o.price = limit
        o.quantity = lots
        o.filled = 0
        o.filled_quote = 0
        o.client_order_id = client_id
        o.stp_mode = stp
        if not crosses and tif is GTC:
            # The common case, a maker that simply rests (half the traffic): its three events
            # in one list display; Book.append and _remember inlined. A limit order always
            # holds something (its notional is at least the market's minimum).
            level = (book.bids if is_buy else book.asks).get(limit)
            if level is None:
                level = book.add_level(limit, is_buy)
            tail = level.tail
            o.prev = tail
            o.next = None
            if tail is None:
                level.head = o
            else:
                tail.next = o
            level.tail = o
            level.total = total = level.total + lots
            self.open_orders_by_id[oid] = o
            by_acct = self.open_by_account.get(acct)
            if by_acct is None:
                by_acct = self.open_by_account[acct] = {}
            by_acct[oid] = o
            if client_id is not None:
                self._remember_client_id(o)
            pay.available = avail = pay.available - hold
            pay.locked = locked = pay.locked + hold
            m.update_id = update_id = m.update_id + 1
            s = self.seq
            self.seq = s + 3
            rest_lv = ((limit, total),)
            return [
                _new(OrderAccepted, (s + 1, cmd_id, ts, oid, acct, symbol, side, typ, tif, price,
                        qty, qq, post_only, stp, client_id)),
                _new(BalanceChanged, (s + 2, cmd_id, ts, acct, pay_asset, avail, locked, -hold,
                        hold, R_HOLD, f"o:{oid}")),
                _new(BookChanged, (s + 3, cmd_id, ts, symbol, update_id, rest_lv, ()) if is_buy
                        else (s + 3, cmd_id, ts, symbol, update_id, (), rest_lv)),
            ]  # fmt: skip
        o.prev = o.next = None
        s = self.seq + 1
        ev: list[Event] = [
            _new(OrderAccepted, (s, cmd_id, ts, oid, acct, symbol, side, typ, tif, price, qty,
                    qq, post_only, stp, client_id))
        ]  # fmt: skip
        if hold:
            pay.available -= hold
            pay.locked += hold
            s += 1
            ev.append(_new(BalanceChanged, (s, cmd_id, ts, acct, pay_asset, pay.available,
                    pay.locked, -hold, hold, R_HOLD, f"o:{oid}")))  # fmt: skip
        self.seq = s
        if crosses:
            end, walked = self._match(m, o, is_buy, mode, budget, pay, ev, cmd_id, ts)
        else:
            end, walked = None, ()
        s = self.seq
        rested: tuple[tuple[int, int], ...] = ()
        # ---- the taker's outcome
        filled = o.filled
        if mode == _BUY_QUOTE:
            left = budget - o.filled_quote
            if end is None and left < u.notional_atoms_per_tick_lot:
                end = "budget"  # spent: not one more lot is affordable at any price
            s += 1
            if end == "budget" and filled:
                ev.append(_new(OrderFilled, (s, cmd_id, ts, oid, acct, symbol, filled,
                        o.filled_quote)))  # fmt: skip
            else:
                why = E_STP if end is E_STP else EndReason.NO_LIQUIDITY
                ev.append(_new(OrderExpired, (s, cmd_id, ts, oid, acct, symbol, why, filled,
                        o.filled_quote)))  # fmt: skip
        elif filled == o.quantity:
            s += 1
            ev.append(_new(OrderFilled, (s, cmd_id, ts, oid, acct, symbol, filled,
                    o.filled_quote)))  # fmt: skip
            left = 0
        elif end is None and typ is LIMIT and tif is GTC:
            level = book.append(o, is_buy)
            self._remember(o)
            rested = ((limit, level.total),)
            left = 0
        else:
            if isinstance(end, EndReason):
                why = end
            else:
                why = EndReason.IOC_UNFILLED if typ is LIMIT else EndReason.NO_LIQUIDITY
            s += 1
            ev.append(_new(OrderExpired, (s, cmd_id, ts, oid, acct, symbol, why, filled,
                    o.filled_quote)))  # fmt: skip
            left = 0 if mode == _BUY_BASE else order_hold(u, is_buy, limit, o.quantity - filled)
        if left:
            pay.locked -= left
            pay.available += left
            s += 1
            ev.append(_new(BalanceChanged, (s, cmd_id, ts, acct, pay_asset, pay.available,
                    pay.locked, left, -left, R_RELEASE, f"o:{oid}")))  # fmt: skip
        if walked or rested:
            m.update_id = update_id = m.update_id + 1
            s += 1
            ev.append(
                _new(
                    BookChanged,
                    (
                        s,
                        cmd_id,
                        ts,
                        symbol,
                        update_id,
                        rested,
                        walked,
                    ),
                )
                if is_buy
                else _new(
                    BookChanged,
                    (
                        s,
                        cmd_id,
                        ts,
                        symbol,
                        update_id,
                        walked,
                        rested,
                    ),
                )
            )
        self.seq = s
        return ev

    def _fok_fillable(
        self, book: Book, is_buy: bool, limit: int, qty: int, acct: int, stp: StpMode
    ) -> bool:
        """Would a FOK of ``qty`` fill completely? Applies STP as matching would."""
        need = qty
        for level in book.levels(not is_buy):
            if (level.price > limit) if is_buy else (level.price < limit):
                return False
            o = level.head
            while o is not None:
                if o.account == acct:
                    if stp is not EXPIRE_MAKER:
                        return False
                else:
                    need -= o.quantity - o.filled
                    if need <= 0:
                        return True
                o = o.next
        return False

    def _match(
        self,
        m: Market,
        o: Order,
        is_buy: bool,
        mode: int,
        budget: int,
        taker_pay: Bal,
        ev: list[Event],
        cmd_id: str,
        ts: int,
    ) -> tuple[EndReason | str | None, tuple[tuple[int, int], ...]]:
        """Fill ``o`` against the other side; return (why it stopped early, changed levels).

        The changed levels are ``(price, new total)`` (0: the level is gone), best price first,
        as BookChanged carries them.

        ``end`` is None when the taker ran out of quantity, the book, or its limit; an
        EndReason for STP or (market buy by base) insufficient funds; "budget" when a market
        buy by quote cannot afford the next lot.
        """
        book = m.book
        (
            levels,
            symbol,
            base,
            quote,
            ntl,
            lot_atoms,
            maker_pay_asset,
            maker_get_asset,
            buyer_ppm,
            seller_ppm,
        ) = m.takers[is_buy]
        limit = o.price
        acct = o.account
        oid = o.order_id
        stp = o.stp_mode
        side = o.side
        fee_account = self.fee_account
        bal_get = self.balances_book.get
        accounts = self.balances_book.accounts
        taker_get = bal_get(acct, maker_pay_asset)  # the taker receives what the maker pays
        fee_bals = m.fee_bals
        if fee_bals is None:
            fee_bals = m.fee_bals = (bal_get(fee_account, base), bal_get(fee_account, quote))
        fee_base, fee_quote = fee_bals
        want = MAX_QUANTITY_LOTS if mode == _BUY_QUOTE else o.quantity
        by_id = self.open_orders_by_id
        by_account = self.open_by_account
        trade_id = m.trade_id
        tf = o.filled  # the taker's cumulative fill, kept in locals until the loop ends
        tfq = o.filled_quote
        walked: list[tuple[int, int]] = []
        end: EndReason | str | None = None
        append = ev.append
        s = self.seq
        while want:
            best = book.best_ask if is_buy else book.best_bid
            if (best > limit) if is_buy else (best < limit):
                break
            level: Level = levels[best]
            total_before = level.total
            mk = level.head
            while mk is not None:
                nxt = mk.next
                maker_acct = mk.account
                if maker_acct == acct:  # self-trade prevention (taker's mode)
                    if stp is EXPIRE_TAKER:
                        end = E_STP
                        break
                    self.seq = s
                    self._end_resting(m, mk, OrderExpired, E_STP, ev, cmd_id, ts)
                    s = self.seq
                    if stp is EXPIRE_BOTH:
                        end = E_STP
                        break
                    mk = nxt
                    continue
                mrem = mk.quantity - mk.filled
                q = want if want < mrem else mrem
                if mode:
                    spendable = taker_pay.available if mode == _BUY_BASE else budget - tfq
                    afford = spendable // (best * ntl)
                    if afford < q:
                        q = afford
                        if not q:
                            end = EndReason.INSUFFICIENT_FUNDS if mode == _BUY_BASE else "budget"
                            break
                # arith.trade_amounts inlined (the call and its 4-tuple were ~6 % of a fill);
                # the same rounding: fees are ceil(amount * ppm / 10**6), toward the venue
                quote_amt = best * q * ntl
                base_amt = q * lot_atoms
                buyer_fee = -(-base_amt * buyer_ppm // PPM)
                seller_fee = -(-quote_amt * seller_ppm // PPM)
                trade_id += 1
                tf += q
                tfq += quote_amt
                mk.filled = mf = mk.filled + q
                mk.filled_quote = mfq = mk.filled_quote + quote_amt
                moid = mk.order_id
                cause = f"t:{symbol}:{trade_id}"
                maker_assets = accounts[maker_acct]  # the maker holds funds: it exists
                maker_pay = maker_assets[maker_pay_asset]
                maker_get = maker_assets.get(maker_get_asset)
                if maker_get is None:
                    maker_get = bal_get(maker_acct, maker_get_asset)
                # Every BalanceChanged shows its balance right after its own movement. The
                # movements grouped under one ``ev += (...)`` below touch different balances
                # (the maker is never the taker, thanks to STP, and the assets differ), so a
                # group's events are built after all of its updates and added at once: one
                # list extension and one seq bump instead of an append and a bump per event.
                # fmt: off
                if is_buy:
                    trade = _new(TradeExecuted, (s + 1, cmd_id, ts, symbol, trade_id, best, q,
                            quote_amt, side, moid, oid, maker_acct, acct, seller_fee,
                            maker_get_asset, buyer_fee, maker_pay_asset, mf, mfq, tf, tfq))
                    if mode == _BUY_BASE:  # the taker pays quote from available
                        taker_pay.available -= quote_amt
                        ev += (trade, _new(BalanceChanged, (s + 2, cmd_id, ts, acct, quote,
                                taker_pay.available, taker_pay.locked, -quote_amt, 0, R_TRADE,
                                cause)))
                        s += 2
                    else:  # the taker pays quote from its hold
                        taker_pay.locked -= quote_amt
                        ev += (trade, _new(BalanceChanged, (s + 2, cmd_id, ts, acct, quote,
                                taker_pay.available, taker_pay.locked, 0, -quote_amt, R_TRADE,
                                cause)))
                        s += 2
                        if mode == _BY_LOTS and best < limit:  # price improvement
                            rel = (limit - best) * q * ntl
                            taker_pay.locked -= rel
                            taker_pay.available += rel
                            s += 1
                            append(_new(BalanceChanged, (s, cmd_id, ts, acct, quote,
                                    taker_pay.available, taker_pay.locked, rel, -rel, R_RELEASE,
                                    cause)))
                    taker_got = base_amt - buyer_fee
                    maker_got = quote_amt - seller_fee
                    taker_get.available += taker_got
                    maker_pay.locked -= base_amt
                    maker_get.available += maker_got
                    ev += (
                        _new(BalanceChanged, (s + 1, cmd_id, ts, acct, base, taker_get.available,
                                taker_get.locked, taker_got, 0, R_TRADE, cause)),
                        _new(BalanceChanged, (s + 2, cmd_id, ts, maker_acct, base,
                                maker_pay.available, maker_pay.locked, 0, -base_amt, R_TRADE,
                                cause)),
                        _new(BalanceChanged, (s + 3, cmd_id, ts, maker_acct, quote,
                                maker_get.available, maker_get.locked, maker_got, 0, R_TRADE,
                                cause)),
                    )
                    s += 3
                else:
                    taker_got = quote_amt - seller_fee
                    maker_got = base_amt - buyer_fee
                    taker_pay.locked -= base_amt
                    taker_get.available += taker_got
                    maker_pay.locked -= quote_amt
                    maker_get.available += maker_got
                    ev += (
                        _new(TradeExecuted, (s + 1, cmd_id, ts, symbol, trade_id, best, q,
                                quote_amt, side, moid, oid, maker_acct, acct, buyer_fee,
                                maker_get_asset, seller_fee, maker_pay_asset, mf, mfq, tf, tfq)),
                        _new(BalanceChanged, (s + 2, cmd_id, ts, acct, base, taker_pay.available,
                                taker_pay.locked, 0, -base_amt, R_TRADE, cause)),
                        _new(BalanceChanged, (s + 3, cmd_id, ts, acct, quote,
                                taker_get.available, taker_get.locked, taker_got, 0, R_TRADE,
                                cause)),
                        _new(BalanceChanged, (s + 4, cmd_id, ts, maker_acct, quote,
                                maker_pay.available, maker_pay.locked, 0, -quote_amt, R_TRADE,
                                cause)),
                        _new(BalanceChanged, (s + 5, cmd_id, ts, maker_acct, base,
                                maker_get.available, maker_get.locked, maker_got, 0, R_TRADE,
                                cause)),
                    )
                    s += 5
                # fmt: on
                if buyer_fee:
                    fee_base.available += buyer_fee
                    s += 1
                    append(_new(BalanceChanged, (s, cmd_id, ts, fee_account, base,
                            fee_base.available, fee_base.locked, buyer_fee, 0, R_FEE,
                            cause)))  # fmt: skip
                if seller_fee:
                    fee_quote.available += seller_fee
                    s += 1
                    append(_new(BalanceChanged, (s, cmd_id, ts, fee_account, quote,
                            fee_quote.available, fee_quote.locked, seller_fee, 0, R_FEE,
                            cause)))  # fmt: skip
                level.total -= q
                want -= q
                if q == mrem:  # maker done: Book.unlink and the index removal inlined
                    # The maker is the level's head: every order before it at this level has
                    # just filled or expired. Its own links are left as they are: nothing
                    # refers to it any more.
                    level.head = nxt
                    if nxt is None:
                        level.tail = None
                        book.drop_level(best, not is_buy)
                    else:
                        nxt.prev = None
                    del by_id[moid]
                    del by_account[maker_acct][moid]
                    if mk.client_order_id is not None:
                        del self.open_by_client_id[maker_acct][mk.client_order_id]
                    s += 1
                    append(_new(OrderFilled, (s, cmd_id, ts, moid, maker_acct, symbol, mf,
                            mfq)))  # fmt: skip
                if not want:
                    break
                mk = nxt
            if level.total != total_before:  # any fill or expiry lowers it: the level changed
                walked.append((best, level.total))  # 0 if it was emptied (and dropped)
            if end is not None:
                break
        o.filled = tf
        o.filled_quote = tfq
        m.trade_id = trade_id
        self.seq = s
        return end, tuple(walked)

    def _cancel(self, c: CancelOrder) -> list[Event]:
        cmd_id, ts, account, symbol, order_id, client_id = c
        m = self.markets_by_symbol.get(symbol)
        if m is None:
            return self._rejected(c, RejectReason.UNKNOWN_MARKET)
        if order_id is not None:
            o = self.open_orders_by_id.get(order_id)
        elif client_id is not None:
            o = self.open_by_client_id.get(account, {}).get(client_id)
        else:
            return self._rejected(c, RejectReason.INVALID_ORDER)
        if o is None or o.account != account or o.symbol != symbol:
            return self._rejected(c, RejectReason.ORDER_NOT_FOUND)
        # ``_end_resting`` and ``Book.unlink`` inlined: a quarter of the traffic is cancels and
        # the two calls cost about a tenth of one (docs/performance.md)
        is_buy = o.side is BUY
        book = m.book
        price = o.price
        level = (book.bids if is_buy else book.asks)[price]
        filled = o.filled
        rem = o.quantity - filled
        level.total = total = level.total - rem
        prev, nxt = o.prev, o.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        o.prev = o.next = None
        if level.head is None:
            book.drop_level(price, is_buy)
        oid = o.order_id
        del self.open_orders_by_id[oid]
        del self.open_by_account[account][oid]
        if o.client_order_id is not None:
            del self.open_by_client_id[account][o.client_order_id]
        u = m.units
        if is_buy:
            asset = u.quote
            hold = price * rem * u.notional_atoms_per_tick_lot  # arith.order_hold, inlined
        else:
            asset = u.base
            hold = rem * u.lot_atoms
        bal = self.balances_book.accounts[account][asset]  # it holds funds, so it exists
        bal.locked -= hold
        bal.available += hold
        m.update_id = update_id = m.update_id + 1
        s = self.seq
        self.seq = s + 3
        lv = ((price, total),)
        return [
            _new(OrderCancelled, (s + 1, cmd_id, ts, oid, account, symbol,
                    E_USER_CANCELLED, filled, o.filled_quote)),
            _new(BalanceChanged, (s + 2, cmd_id, ts, account, asset, bal.available, bal.locked,
                    hold, -hold, R_RELEASE, f"o:{oid}")),
            _new(BookChanged, (s + 3, cmd_id, ts, symbol, update_id, lv, ()) if is_buy
                    else (s + 3, cmd_id, ts, symbol, update_id, (), lv)),
        ]  # fmt: skip

    def _cancel_all(self, c: CancelAll) -> list[Event]:
        symbol = c.symbol
        if symbol is not None and symbol not in self.markets_by_symbol:
            return self._rejected(c, RejectReason.UNKNOWN_MARKET)
        orders = [
            o
            for o in self.open_by_account.get(c.account, {}).values()
            if symbol is None or o.symbol == symbol
        ]
        ev: list[Event] = []
        touched: dict[str, tuple[dict[int, None], dict[int, None]]] = {}
        for o in orders:
            m = self.markets_by_symbol[o.symbol]
            chg = touched.get(o.symbol)
            if chg is None:
                chg = touched[o.symbol] = ({}, {})
            chg[0 if o.side is BUY else 1][o.price] = None
            self._end_resting(m, o, OrderCancelled, EndReason.CANCEL_ALL, ev, c.command_id, c.ts)
        for sym, (bids, asks) in touched.items():
            self._emit_book(self.markets_by_symbol[sym], bids, asks, ev, c.command_id, c.ts)
        return ev

    def _amend(self, c: AmendOrder) -> list[Event]:
        m = self.markets_by_symbol.get(c.symbol)
        if m is None:
            return self._rejected(c, RejectReason.UNKNOWN_MARKET)
        if m.halted:
            return self._rejected(c, RejectReason.MARKET_HALTED)
        if c.order_id is None and c.client_order_id is None:
            return self._rejected(c, RejectReason.INVALID_ORDER)
        o = self._lookup(c.account, c.symbol, c.order_id, c.client_order_id)
        if o is None:
            return self._rejected(c, RejectReason.ORDER_NOT_FOUND)
        if c.new_price is None and c.new_quantity is None:
            return self._rejected(c, RejectReason.INVALID_ORDER)
        price = o.price if c.new_price is None else c.new_price
        qty = o.quantity if c.new_quantity is None else c.new_quantity
        u = m.units
        book = m.book
        if not 0 < price <= u.max_price_ticks:
            return self._rejected(c, RejectReason.INVALID_PRICE)
        if not o.filled < qty <= u.max_lots:
            return self._rejected(c, RejectReason.INVALID_QUANTITY)
        notional = price * qty * u.notional_atoms_per_tick_lot
        if notional < u.min_notional_atoms:
            return self._rejected(c, RejectReason.BELOW_MIN_NOTIONAL)
        if notional > u.max_notional_atoms:
            return self._rejected(c, RejectReason.ABOVE_MAX_NOTIONAL)
        is_buy = o.side is BUY
        if price != o.price and (price >= book.best_ask if is_buy else price <= book.best_bid):
            return self._rejected(c, RejectReason.POST_ONLY_WOULD_TAKE)
        old_hold = order_hold(u, is_buy, o.price, o.quantity - o.filled)
        new_hold = order_hold(u, is_buy, price, qty - o.filled)
        asset = u.quote if is_buy else u.base
        bal = self.balances_book.get(o.account, asset)
        delta = new_hold - old_hold
        if delta > bal.available:
            return self._rejected(c, RejectReason.INSUFFICIENT_FUNDS)
        keep = price == o.price and qty <= o.quantity
        unchanged = keep and qty == o.quantity
        levels = book.bids if is_buy else book.asks
        level = levels[o.price]
        chg = {o.price: None}
        if keep:
            level.total -= o.quantity - qty
            o.quantity = qty
        else:
            level.total -= o.quantity - o.filled
            book.unlink(o, level)
            o.price = price
            o.quantity = qty
            book.append(o, is_buy)
            chg[price] = None
        cmd_id, ts = c.command_id, c.ts
        s = self.seq + 1
        ev: list[Event] = [
            _new(
                OrderAmended,
                (
                    s,
                    cmd_id,
                    ts,
                    o.order_id,
                    o.account,
                    o.symbol,
                    price,
                    qty,
                    keep,
                ),
            )
        ]
        if delta:
            bal.available -= delta
            bal.locked += delta
            s += 1
            ev.append(_new(BalanceChanged, (s, cmd_id, ts, o.account, asset, bal.available,
                    bal.locked, -delta, delta, R_HOLD if delta > 0 else R_RELEASE,
                    f"a:{o.order_id}:{s}")))  # fmt: skip
        self.seq = s
        if not unchanged:
            if is_buy:
                self._emit_book(m, chg, {}, ev, cmd_id, ts)
            else:
                self._emit_book(m, {}, chg, ev, cmd_id, ts)
        return ev

    # ------------------------------------------------------------------ transfers

    def _transfer_rejected(self, c: Any, reason: RejectReason) -> list[Event]:
        self.seq = s = self.seq + 1
        return [
            _new(
                TransferRejected,
                (
                    s,
                    c.command_id,
                    c.ts,
                    c.transfer_id,
                    reason,
                ),
            )
        ]

    def _transfer_events(
        self,
        c: Any,
        kind: str,
        account: int,
        asset: str,
        amount: int,
        bal: Bal,
        d_avail: int,
        d_locked: int,
        reason: BalanceReason,
    ) -> list[Event]:
        s = self.seq
        self.seq = s + 2
        return [
            _new(
                TransferApplied,
                (
                    s + 1,
                    c.command_id,
                    c.ts,
                    c.transfer_id,
                    kind,
                    account,
                    asset,
                    amount,
                ),
            ),
            _new(
                BalanceChanged,
                (
                    s + 2,
                    c.command_id,
                    c.ts,
                    account,
                    asset,
                    bal.available,
                    bal.locked,
                    d_avail,
                    d_locked,
                    reason,
                    f"x:{c.transfer_id}",
                ),
            ),
        ]

    @staticmethod
    def _bad_amount(asset: object, amount: object) -> bool:
        return (
            type(asset) is not str
            or not asset
            or type(amount) is not int
            or not 0 < amount <= MAX_AMOUNT_ATOMS
        )

    def _asset_decimals(self, asset: str) -> int | None:
        """The decimals of ``asset`` as a market of this engine has them (all agree)."""
        for m in self.markets_by_symbol.values():
            for a in (m.spec.base, m.spec.quote):
                if a.code == asset:
                    return a.decimals
        return None

    def _deposit(self, c: Deposit) -> list[Event]:
        bb = self.balances_book
        if c.transfer_id in bb.transfers:
            return []
        if self._bad_amount(c.asset, c.amount):
            return self._transfer_rejected(c, RejectReason.INVALID_AMOUNT)
        # The bound on what this matcher holds of the asset (docs/reliability.md, "Bounded
        # money"): every balance of it, the fee account's and every locked amount included, is
        # part of deposited - withdrawn, so capping that caps them all, with no check in the
        # fill loop. Decimals the command gives must agree with the markets'.
        known = self._asset_decimals(c.asset)
        decimals = known if c.decimals is None else c.decimals
        if (
            type(decimals) is not int
            or not 0 <= decimals <= MAX_DECIMALS
            or (known is not None and decimals != known)
            or c.amount > max_transfer_atoms(decimals)
        ):
            return self._transfer_rejected(c, RejectReason.INVALID_AMOUNT)
        held = bb.deposited.get(c.asset, 0) - bb.withdrawn.get(c.asset, 0)
        if held + c.amount > max_balance_atoms(decimals):
            return self._transfer_rejected(c, RejectReason.BALANCE_LIMIT_EXCEEDED)
        bal = bb.deposit(c.transfer_id, c.account, c.asset, c.amount)
        return self._transfer_events(
            c, "deposit", c.account, c.asset, c.amount, bal, c.amount, 0, R_DEPOSIT
        )

    def _withdraw(self, c: Withdraw) -> list[Event]:
        if c.transfer_id in self.balances_book.transfers:
            return []
        if self._bad_amount(c.asset, c.amount):
            return self._transfer_rejected(c, RejectReason.INVALID_AMOUNT)
        if self.balances_book.peek(c.account, c.asset)[0] < c.amount:
            return self._transfer_rejected(c, RejectReason.INSUFFICIENT_FUNDS)
        bal = self.balances_book.hold_withdrawal(c.transfer_id, c.account, c.asset, c.amount)
        return self._transfer_events(
            c, "withdraw", c.account, c.asset, c.amount, bal, -c.amount, c.amount, R_HOLD
        )

    def _settle(self, c: SettleWithdrawal) -> list[Event]:
        t = self.balances_book.transfers.get(c.transfer_id)
        if t is None or t.state == DEPOSITED:
            return self._transfer_rejected(c, RejectReason.UNKNOWN_TRANSFER)
        if t.state == SETTLED:
            return []
        if t.state != PENDING:
            return self._transfer_rejected(c, RejectReason.DUPLICATE_TRANSFER)
        bal = self.balances_book.settle_withdrawal(t)
        return self._transfer_events(
            c, "settle", t.account, t.asset, t.amount, bal, 0, -t.amount, R_WITHDRAWAL
        )

    def _release(self, c: ReleaseWithdrawal) -> list[Event]:
        t = self.balances_book.transfers.get(c.transfer_id)
        if t is None or t.state == DEPOSITED:
            return self._transfer_rejected(c, RejectReason.UNKNOWN_TRANSFER)
        if t.state == RELEASED:
            return []
        if t.state != PENDING:
            return self._transfer_rejected(c, RejectReason.DUPLICATE_TRANSFER)
        bal = self.balances_book.release_withdrawal(t)
        return self._transfer_events(
            c, "release", t.account, t.asset, t.amount, bal, t.amount, -t.amount, R_RELEASE
        )

    # ------------------------------------------------------------------ markets

    def _compile(self, spec: object, symbol: str | None) -> MarketUnits | None:
        """Compile a spec, also refusing an asset whose decimals differ across markets."""
        if not isinstance(spec, MarketSpec) or not isinstance(spec.status, MarketStatus):
            return None
        try:
            units = compile_market(spec)
        except InvalidMarketSpec:
            return None
        for other in self.markets_by_symbol.values():
            if other.spec.symbol == symbol:
                continue
            for a in (spec.base, spec.quote):
                for b in (other.spec.base, other.spec.quote):
                    if a.code == b.code and a.decimals != b.decimals:
                        return None
        return units

    def _add_market(self, c: AddMarket) -> list[Event]:
        spec = c.spec
        if isinstance(spec, MarketSpec) and spec.symbol in self.markets_by_symbol:
            return self._rejected(c, RejectReason.MARKET_EXISTS)
        units = self._compile(spec, None)
        if units is None:
            return self._rejected(c, RejectReason.INVALID_MARKET_SPEC)
        self.markets_by_symbol[spec.symbol] = Market(spec, units)
        self.seq = s = self.seq + 1
        return [
            _new(
                MarketAdded,
                (
                    s,
                    c.command_id,
                    c.ts,
                    spec,
                ),
            )
        ]

    def _update_market(self, c: UpdateMarket) -> list[Event]:
        spec = c.spec
        m = self.markets_by_symbol.get(spec.symbol) if isinstance(spec, MarketSpec) else None
        if m is None:
            return self._rejected(c, RejectReason.UNKNOWN_MARKET)
        units = self._compile(spec, spec.symbol)
        if units is None or spec.base != m.spec.base or spec.quote != m.spec.quote:
            return self._rejected(c, RejectReason.INVALID_MARKET_SPEC)
        if len(m.book) and (
            units.lot_atoms != m.units.lot_atoms or units.tick_atoms != m.units.tick_atoms
        ):
            return self._rejected(c, RejectReason.MARKET_NOT_EMPTY)
        m.spec = spec
        m.set_units(units)
        m.halted = spec.status is MarketStatus.HALTED
        self.seq = s = self.seq + 1
        return [
            _new(
                MarketUpdated,
                (
                    s,
                    c.command_id,
                    c.ts,
                    spec,
                ),
            )
        ]

    def _set_status(self, c: SetMarketStatus) -> list[Event]:
        m = self.markets_by_symbol.get(c.symbol)
        if m is None:
            return self._rejected(c, RejectReason.UNKNOWN_MARKET)
        if not isinstance(c.status, MarketStatus):
            return self._rejected(c, RejectReason.INVALID_COMMAND)
        m.spec = replace(m.spec, status=c.status)
        m.halted = c.status is MarketStatus.HALTED
        self.seq = s = self.seq + 1
        return [
            _new(
                MarketStatusChanged,
                (
                    s,
                    c.command_id,
                    c.ts,
                    c.symbol,
                    c.status,
                ),
            )
        ]

    # ------------------------------------------------------------------ invariants

    def validate(self) -> None:
        """Check every invariant; raise :class:`EngineInvariantError` on the first broken one."""
        resting = 0
        expected_locked: dict[tuple[int, str], int] = {}
        for symbol, m in self.markets_by_symbol.items():
            if m.spec.symbol != symbol or m.units.symbol != symbol:
                raise EngineInvariantError(f"{symbol}: market key mismatch")
            if m.takers != _taker_sides(m.book, m.units):
                raise EngineInvariantError(f"{symbol}: stale taker constants (use set_units)")
            resting += m.book.validate()
            u = m.units
            for is_buy in (True, False):
                for level in m.book.levels(is_buy):
                    for o in level.orders():
                        if self.open_orders_by_id.get(o.order_id) is not o:
                            raise EngineInvariantError(f"order {o.order_id} not indexed")
                        if o.symbol != symbol:
                            raise EngineInvariantError(f"order {o.order_id} in wrong book")
                        key = (o.account, u.quote if is_buy else u.base)
                        expected_locked[key] = expected_locked.get(key, 0) + order_hold(
                            u, is_buy, o.price, o.quantity - o.filled
                        )
        if resting != len(self.open_orders_by_id):
            raise EngineInvariantError("id index holds orders that are not in a book")
        by_account = sum(len(d) for d in self.open_by_account.values())
        if by_account != resting:
            raise EngineInvariantError("account index differs from the books")
        for account, orders in self.open_by_account.items():
            for oid, o in orders.items():
                if o.account != account or self.open_orders_by_id.get(oid) is not o:
                    raise EngineInvariantError(f"account index wrong for order {oid}")
                if o.order_id not in self.used_order_ids:
                    raise EngineInvariantError(f"order {oid} id not recorded")
                if o.client_order_id is not None and (
                    self.open_by_client_id.get(account, {}).get(o.client_order_id) is not o
                    or o.client_order_id not in self.used_client_ids.get(account, set())
                ):
                    raise EngineInvariantError(f"client id index wrong for order {oid}")
        if sum(len(d) for d in self.open_by_client_id.values()) != sum(
            1 for o in self.open_orders_by_id.values() if o.client_order_id is not None
        ):
            raise EngineInvariantError("client id index holds stale entries")
        bb = self.balances_book
        for t in bb.transfers.values():
            if t.state == PENDING:
                key = (t.account, t.asset)
                expected_locked[key] = expected_locked.get(key, 0) + t.amount
        totals: dict[str, int] = {}
        for account, asset, bal in bb.items():
            if bal.available < 0 or bal.locked < 0:
                raise EngineInvariantError(f"negative balance {account} {asset}")
            if bal.locked != expected_locked.pop((account, asset), 0):
                raise EngineInvariantError(f"locked {account} {asset} != what orders hold")
            totals[asset] = totals.get(asset, 0) + bal.available + bal.locked
        if any(expected_locked.values()):
            raise EngineInvariantError(f"holds without balance: {expected_locked}")
        for asset in set(totals) | set(bb.deposited):
            net = bb.deposited.get(asset, 0) - bb.withdrawn.get(asset, 0)
            if totals.get(asset, 0) != net:
                raise EngineInvariantError(f"{asset}: balances {totals.get(asset)} != net {net}")
        for m in self.markets_by_symbol.values():
            if m.book.best_bid != NO_BID and m.book.best_ask != NO_ASK:
                if m.book.best_bid >= m.book.best_ask:
                    raise EngineInvariantError(f"{m.spec.symbol}: crossed")


def _view(o: Order) -> OrderView:
    return OrderView(
        o.order_id,
        o.account,
        o.symbol,
        o.side,
        o.price,
        o.quantity,
        o.filled,
        o.filled_quote,
        o.quantity - o.filled,
        o.client_order_id,
    )
