"""What conditional orders and OCO lists keep: the untriggered orders, their per-market index by
stop price, and the order lists (docs/order-types.md). Data and bookkeeping only: placing is
``matching.conditional``, triggering ``matching.triggers``, lists ``matching.order_lists``.

Index layout
------------
Each market with untriggered orders has a :class:`Triggers`: two ``SortedList`` objects of
integer keys, one per trigger direction, whose *crossed* orders always form a prefix:

* ``rise`` (buy ``stop_*``, sell ``take_profit_*``: trigger when the last price rises to the
  stop): key ``stop_price * SPAN + accepted``, ascending: crossed = keys below
  ``(last + 1) * SPAN``;
* ``fall`` (sell ``stop_*``, buy ``take_profit_*``): key ``(KEY_TOP - stop_price) * SPAN +
  accepted``, so the highest stop comes first: crossed = keys below ``(KEY_TOP - last + 1) *
  SPAN``.

``accepted`` is the ``seq`` of the order's ``OrderAccepted`` (unique and increasing), so equal
stop prices trigger in acceptance order. A key is one int: comparing ints is cheaper than
tuples. ``sortedcontainers.SortedList`` rather than the plain list + ``bisect`` of
``matching.book``: measured (interpreted, an insert and a remove, keys on 21 stop prices),
the list costs 240 ns at 1,000 orders, 800 ns at 10,000 and 13.7 us at 100,000 (its memmove
grows with the list), the SortedList 410, 425 and 465 ns. A book has a few hundred levels; a
market may have far more waiting stops, so the bounded cost wins. A trigger pops a prefix.
Trailing stops are also kept by their extreme, in two plain sorted lists of int keys:
``trail_sells`` (key ``peak * SPAN + accepted``: the lowest peak first) and ``trail_buys`` (key
``(KEY_TOP - trough) * SPAN + accepted``: the highest trough first). A new high moves exactly
the sells whose peak is below it, a prefix; a new low the buys whose trough is above it, a
prefix: each trade costs the orders whose stop really moves (re-keyed in ``rise`` / ``fall``),
not a scan of every trailing stop. (The first version scanned them all after every order of the
market: with 2,000 trailing stops waiting it was the largest cost of the conditional stream of
``bench/engine_bench.py``.)

``sortedcontainers`` has no type information: under mypyc its objects are plain Python objects
(``Any``), called through the C API like any interpreted library; the engine's own code around
them is compiled as usual.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, Final

from sortedcontainers import SortedList  # type: ignore[import-untyped]  # no types shipped

from matching.arith import MAX_PRICE_TICKS, MarketUnits, base_atoms, notional_atoms
from matching.types import OrderType, Side, StpMode, TimeInForce

MAX_TRIGGERS_PER_COMMAND: Final = 100
"""One command triggers at most this many orders; the rest wait for the market's next command."""

SPAN: Final = 2**64  # > any event seq: the low part of a key
KEY_TOP: Final = 4 * MAX_PRICE_TICKS  # above any stop price (a trailing buy's may exceed the max)
NO_RISE: Final = KEY_TOP  # an empty rise index's head: no last price reaches it
NO_FALL: Final = 0  # an empty fall index's head: every last price is above it
NO_TRAIL: Final = (KEY_TOP + 1) * SPAN  # an empty trailing index's first key: above any bound

STOP_MARKET: Final = OrderType.STOP_MARKET
STOP_LIMIT: Final = OrderType.STOP_LIMIT
TAKE_PROFIT_MARKET: Final = OrderType.TAKE_PROFIT_MARKET
TAKE_PROFIT_LIMIT: Final = OrderType.TAKE_PROFIT_LIMIT
BUY: Final = Side.BUY


class Conditional:
    """An accepted conditional order that has not triggered yet (status ``untriggered``).

    ``hold`` is what it holds now (cause ``o:<order_id>``); ``cap`` the protection price of a
    ``*_market`` buy by quantity (0 otherwise); ``peak`` a trailing stop's extreme of the last
    trade price (0 when not trailing); ``rises`` which index it is in; ``iceberg_quantity`` and
    ``expire_time`` (0: none) what the order it becomes keeps (a GTD order also expires while it
    waits: ``matching.expiry``).
    """

    __slots__ = (
        "accepted",
        "account",
        "cap",
        "client_order_id",
        "expire_time",
        "hold",
        "iceberg_quantity",
        "key",
        "list_id",
        "order_id",
        "order_type",
        "peak",
        "price",
        "quantity",
        "quote_quantity",
        "rises",
        "side",
        "stop_price",
        "stp_mode",
        "symbol",
        "time_in_force",
        "trail_key",
        "trailing_delta",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        symbol: str,
        side: Side,
        order_type: OrderType,
        time_in_force: TimeInForce,
        price: int | None,
        quantity: int | None,
        quote_quantity: int | None,
        stop_price: int,
        trailing_delta: int | None,
        peak: int,
        cap: int,
        client_order_id: str | None,
        stp_mode: StpMode,
        list_id: int | None,
        accepted: int,
        hold: int,
        iceberg_quantity: int = 0,
        expire_time: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.price = price
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.stop_price = stop_price
        self.trailing_delta = trailing_delta
        self.peak = peak
        self.cap = cap
        self.client_order_id = client_order_id
        self.stp_mode = stp_mode
        self.list_id = list_id
        self.accepted = accepted
        self.hold = hold
        self.iceberg_quantity = iceberg_quantity  # lots shown once it rests (0: not an iceberg)
        self.expire_time = expire_time  # unix ms, a GTD order's (0: none)
        self.rises = rises_on(order_type, side is BUY)
        self.key = 0
        self.trail_key = 0  # its key in ``Triggers.trail_sells`` / ``trail_buys`` (trailing)


def rises_on(order_type: OrderType, is_buy: bool) -> bool:
    """True when the order triggers on a rise of the last price (buy stop, sell take-profit)."""
    is_stop = order_type is STOP_MARKET or order_type is STOP_LIMIT
    return is_stop == is_buy


def is_limit_variant(order_type: OrderType) -> bool:
    return order_type is STOP_LIMIT or order_type is TAKE_PROFIT_LIMIT


def protection_price(stop_price: int, cap_bps: int) -> int:
    """``ceil(stop_price x (10000 + cap_bps) / 10000)`` ticks."""
    return -(-stop_price * (10_000 + cap_bps) // 10_000)


def trailing_stop(peak: int, delta: int, is_buy: bool) -> int:
    """A trailing stop's stop price from its extreme: floor below a sell's peak, ceil above a
    buy's trough (docs/order-types.md, "Trailing stop")."""
    if is_buy:
        return -(-peak * (10_000 + delta) // 10_000)
    return peak * (10_000 - delta) // 10_000


def conditional_need(units: MarketUnits, cond: Conditional) -> int:
    """What a conditional order needs held in full (quote if buy, base if sell), from its
    fields alone."""
    if cond.side is not BUY:
        return base_atoms(units, cond.quantity or 0)
    if cond.quote_quantity is not None:
        return cond.quote_quantity
    price = cond.price if is_limit_variant(cond.order_type) else cond.cap
    return notional_atoms(units, price or 0, cond.quantity or 0)


class OrderList:
    """An OCO in status ``executing``: a limit leg (resting, ``limit_id``) and a stop leg
    (untriggered, then an ordinary order once triggered, ``stop_id``)."""

    __slots__ = ("account", "client_list_id", "limit_id", "list_id", "stop_id", "symbol")

    def __init__(
        self,
        list_id: int,
        account: int,
        symbol: str,
        client_list_id: str | None,
        limit_id: int,
        stop_id: int,
    ) -> None:
        self.list_id = list_id
        self.account = account
        self.symbol = symbol
        self.client_list_id = client_list_id
        self.limit_id = limit_id
        self.stop_id = stop_id


class Triggers:
    """One market's untriggered orders by stop price, and the legs of its open lists.

    ``rise_head`` / ``fall_head`` cache the stop price of each index's first order (the lowest
    of the rises, the highest of the falls; ``NO_RISE`` / ``NO_FALL`` when empty): the check
    after every order in the market is then one comparison of small ints per direction, with
    no call into ``SortedList`` unless something is crossed.
    """

    __slots__ = (
        "buy_head",
        "by_key",
        "fall",
        "fall_head",
        "legs",
        "rise",
        "rise_head",
        "sell_head",
        "touched_legs",
        "trade_high",
        "trade_low",
        "trail_buys",
        "trail_fall_max",
        "trail_rise_min",
        "trail_sells",
        "trailing",
    )

    def __init__(self) -> None:
        self.rise: Any = SortedList()  # of int keys (see the module docstring)
        self.fall: Any = SortedList()
        self.rise_head = NO_RISE
        self.fall_head = NO_FALL
        self.by_key: dict[int, Conditional] = {}
        # plain sorted lists (bisect, C-level): a moved stop takes the newest extreme, so it goes
        # back at the end, and a move pops a prefix; SortedList's Python-level slicing and
        # adds cost about 1 us per trade that moved a trailing stop (measured, conditional
        # stream: 8.1 against 6.9 us per crossing order)
        self.trail_sells: list[int] = []  # keys: the lowest peak first
        self.trail_buys: list[int] = []  # keys: the highest trough first
        self.trailing: dict[int, Conditional] = {}  # trail key -> trailing stop
        # the first key of each trailing index (NO_TRAIL when empty), cached like the heads
        # above: after a trade, "does it move any trailing stop?" is two int comparisons
        self.sell_head = NO_TRAIL
        self.buy_head = NO_TRAIL
        # A trailing stop moves with every new extreme, but is re-keyed in ``rise`` / ``fall``
        # only when the last price could cross it: its key keeps the stop it was indexed with
        # (a sell's only rises, so its key is below its stop; a buy's only falls), and these
        # bounds say when that is no longer safe: the highest true stop of the trailing sells
        # (0: none) and the lowest of the trailing buys (NO_RISE: none). A check whose last
        # price reaches a bound first re-keys that side exactly (``rekey_trailing``), so the
        # index then triggers in the exact order. A stop being at least 10 bps from its
        # extreme, that happens on real moves only: without it every new high re-keyed every
        # trailing sell below it in the index (0.4 us per command of the conditional stream).
        self.trail_fall_max = 0
        self.trail_rise_min = NO_RISE
        # the range of the market's trade prices since the last trigger check (0: no trade),
        # kept by the fill loop (``matching.fills``) so the check reads no events
        self.trade_high = 0
        self.trade_low = 0
        # the OCO limit legs the fill loop traded with or expired (self-trade prevention) since
        # the last check, in event order: the lists the check settles, with no event scan
        self.touched_legs: list[int] = []
        self.legs: dict[int, OrderList] = {}  # order id of either leg -> its open list

    def empty(self) -> bool:
        return not self.by_key and not self.legs

    def add(self, cond: Conditional) -> None:
        stop = cond.stop_price
        if cond.rises:
            key = stop * SPAN + cond.accepted
            self.rise.add(key)
            if stop < self.rise_head:
                self.rise_head = stop
        else:
            key = (KEY_TOP - stop) * SPAN + cond.accepted
            self.fall.add(key)
            if stop > self.fall_head:
                self.fall_head = stop
        cond.key = key
        self.by_key[key] = cond

    def remove(self, cond: Conditional) -> None:
        key = cond.key
        if cond.rises:
            self.rise.remove(key)
            if key // SPAN == self.rise_head:  # (the stop it was indexed with)
                self.rise_head = _rise_head(self.rise)
        else:
            self.fall.remove(key)
            if KEY_TOP - key // SPAN == self.fall_head:
                self.fall_head = _fall_head(self.fall)
        del self.by_key[key]

    def bound_trailing(self, cond: Conditional) -> None:
        """Widen the trailing bounds to ``cond``'s stop (see ``trail_fall_max``)."""
        if cond.rises:
            if cond.stop_price < self.trail_rise_min:
                self.trail_rise_min = cond.stop_price
        elif cond.stop_price > self.trail_fall_max:
            self.trail_fall_max = cond.stop_price

    def rekey_trailing(self, rises: bool) -> None:
        """Re-key one direction's trailing stops at their stops now; exact bounds again."""
        bound = NO_RISE if rises else 0
        for cond in list(self.trailing.values()):
            if cond.rises is not rises:
                continue
            if indexed_stop(cond) != cond.stop_price:
                self.remove(cond)
                self.add(cond)
            stop = cond.stop_price
            bound = min(bound, stop) if rises else max(bound, stop)
        if rises:
            self.trail_rise_min = bound
        else:
            self.trail_fall_max = bound

    def crossed(self, rises: bool, last: int, limit: int) -> list[Conditional]:
        """Up to ``limit`` orders of one direction that ``last`` crossed, in trigger order,
        taken out of the index."""
        if rises:
            if last < self.rise_head or limit <= 0:
                return []
            keys = self.rise
            bound = (last + 1) * SPAN
        else:
            if last > self.fall_head or limit <= 0:
                return []
            keys = self.fall
            bound = (KEY_TOP - last + 1) * SPAN
        count: int = keys.bisect_left(bound)
        if count > limit:
            count = limit
        by_key = self.by_key
        out = [by_key.pop(key) for key in keys[:count]]
        del keys[:count]
        if rises:
            self.rise_head = _rise_head(keys)
        else:
            self.fall_head = _fall_head(keys)
        return out

    def add_trailing(self, cond: Conditional) -> None:
        """Index a trailing stop by its extreme (``cond.peak``)."""
        if cond.side is BUY:
            key = (KEY_TOP - cond.peak) * SPAN + cond.accepted
            insort(self.trail_buys, key)
            if key < self.buy_head:
                self.buy_head = key
        else:
            key = cond.peak * SPAN + cond.accepted
            insort(self.trail_sells, key)
            if key < self.sell_head:
                self.sell_head = key
        cond.trail_key = key
        self.trailing[key] = cond
        self.bound_trailing(cond)

    def remove_trailing(self, cond: Conditional) -> None:
        key = cond.trail_key
        keys = self.trail_buys if cond.side is BUY else self.trail_sells
        del keys[bisect_left(keys, key)]
        if cond.side is BUY:
            if key == self.buy_head:
                self.buy_head = _first(keys)
        elif key == self.sell_head:
            self.sell_head = _first(keys)
        del self.trailing[key]

    def passed_by(self, high: int, low: int) -> list[Conditional]:
        """The trailing stops whose extreme a trade range ``low..high`` passed (a sell's peak
        below ``high``, a buy's trough above ``low``), taken out of the trailing index: the
        caller moves their extreme and puts them back."""
        out: list[Conditional] = []
        sell_bound = high * SPAN
        if self.sell_head < sell_bound:
            out += self._pop_trailing(self.trail_sells, sell_bound)
            self.sell_head = _first(self.trail_sells)
        buy_bound = (KEY_TOP - low) * SPAN
        if self.buy_head < buy_bound:
            out += self._pop_trailing(self.trail_buys, buy_bound)
            self.buy_head = _first(self.trail_buys)
        return out

    def _pop_trailing(self, keys: list[int], bound: int) -> list[Conditional]:
        count = bisect_left(keys, bound)
        trailing = self.trailing
        out = [trailing.pop(key) for key in keys[:count]]
        del keys[:count]
        return out

    def any_crossed(self, last: int) -> bool:
        return last >= self.rise_head or last <= self.fall_head


def indexed_stop(cond: Conditional) -> int:
    """The stop price ``cond``'s key in ``rise`` / ``fall`` was made with (a trailing stop's
    may lag its stop: ``Triggers.trail_fall_max``)."""
    return cond.key // SPAN if cond.rises else KEY_TOP - cond.key // SPAN


def _first(keys: list[int]) -> int:
    """The first key of a trailing index, ``NO_TRAIL`` when it is empty."""
    return keys[0] if keys else NO_TRAIL


def _rise_head(keys: Any) -> int:
    """The stop price of the first key of the rise index, ``NO_RISE`` when it is empty."""
    if len(keys):
        head: int = keys[0] // SPAN
        return head
    return NO_RISE


def _fall_head(keys: Any) -> int:
    """The stop price of the first key of the fall index, ``NO_FALL`` when it is empty."""
    if len(keys):
        head: int = KEY_TOP - keys[0] // SPAN
        return head
    return NO_FALL


class Conditionals:
    """The engine-wide indexes of conditional orders and order lists (``EngineState.cond``)."""

    __slots__ = (
        "backlog",
        "by_account",
        "by_client_id",
        "by_id",
        "fired",
        "lists",
        "lists_by_client_id",
        "triggering",
        "used_client_list_ids",
        "used_list_ids",
    )

    def __init__(self) -> None:
        self.by_id: dict[int, Conditional] = {}  # untriggered, in acceptance order
        self.by_account: dict[int, dict[int, Conditional]] = {}  # the same, per account
        self.by_client_id: dict[int, dict[str, Conditional]] = {}
        self.lists: dict[int, OrderList] = {}  # executing lists, in acceptance order
        self.lists_by_client_id: dict[int, dict[str, OrderList]] = {}
        self.used_list_ids: set[int] = set()
        self.used_client_list_ids: dict[int, set[str]] = {}
        # symbol -> True to trigger rises first: markets whose last cascade hit the cap
        self.backlog: dict[str, bool] = {}
        self.fired = 0  # orders triggered so far by the current command
        # lists whose stop leg triggered in the current command and has not executed yet
        self.triggering: set[int] = set()

    def remember(self, cond: Conditional) -> None:
        self.by_id[cond.order_id] = cond
        by_account = self.by_account.get(cond.account)
        if by_account is None:
            by_account = self.by_account[cond.account] = {}
        by_account[cond.order_id] = cond
        if cond.client_order_id is not None:
            by_client = self.by_client_id.get(cond.account)
            if by_client is None:
                by_client = self.by_client_id[cond.account] = {}
            by_client[cond.client_order_id] = cond

    def forget(self, cond: Conditional) -> None:
        del self.by_id[cond.order_id]
        by_account = self.by_account[cond.account]
        del by_account[cond.order_id]
        if not by_account:
            del self.by_account[cond.account]
        if cond.client_order_id is not None:
            del self.by_client_id[cond.account][cond.client_order_id]

    def find(
        self, account: int, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Conditional | None:
        """The account's untriggered order in ``symbol``, by order id or else client order id."""
        if order_id is not None:
            cond = self.by_id.get(order_id)
        elif client_order_id is not None:
            cond = self.by_client_id.get(account, {}).get(client_order_id)
        else:
            return None
        if cond is None or cond.account != account or cond.symbol != symbol:
            return None
        return cond

    def remember_list(self, order_list: OrderList) -> None:
        self.lists[order_list.list_id] = order_list
        self.used_list_ids.add(order_list.list_id)
        client_list_id = order_list.client_list_id
        if client_list_id is not None:
            used = self.used_client_list_ids.get(order_list.account)
            if used is None:
                used = self.used_client_list_ids[order_list.account] = set()
            used.add(client_list_id)
            by_client = self.lists_by_client_id.get(order_list.account)
            if by_client is None:
                by_client = self.lists_by_client_id[order_list.account] = {}
            by_client[client_list_id] = order_list

    def forget_list(self, order_list: OrderList) -> None:
        del self.lists[order_list.list_id]
        if order_list.client_list_id is not None:
            del self.lists_by_client_id[order_list.account][order_list.client_list_id]
