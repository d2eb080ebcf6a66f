"""What conditional orders and OCO lists keep: the untriggered orders, their per-market index by
stop price, and the order lists (docs/order-types.md). Data and bookkeeping only: placing is
``matching.conditional``, triggering ``matching.triggers``, lists ``matching.order_lists``.

Index layout
------------
Each market with untriggered orders has a :class:`Triggers`, laid out like the book
(``matching.book``): per trigger direction, a dict ``stop price -> level`` and a plain sorted
``list`` of the distinct stop prices with the **first to trigger last**, so triggering pops
from the end:

* ``rise`` (buy ``stop_*``, sell ``take_profit_*``: trigger when the last price rises to the
  stop): ``rise_stops`` holds the stop prices negated (ascending, so the lowest stop is last);
  crossed: the stops at or below the last price;
* ``fall`` (sell ``stop_*``, buy ``take_profit_*``): ``fall_stops`` holds them ascending (the
  highest last); crossed: the stops at or above the last price.

A level is a dict ``accepted -> order`` in acceptance order (``accepted`` is the ``seq`` of the
order's ``OrderAccepted``, unique and increasing), so equal stop prices trigger in acceptance
order; a cancel is a dict delete. ``rise_head`` / ``fall_head`` cache the first stop to
trigger. Keys are small ints (a stop price), which compiled code compares and hashes natively.
The first layout, one ``SortedList`` of ``stop * 2**64 + accepted`` keys per direction, ran
sortedcontainers' interpreted code on multi-digit ints for every add, remove and trigger: on the
conditional stream of ``bench/engine_bench.py`` they took 3.7x the instructions they take now.
A ``SortedList`` of the distinct stop prices still cost 0.9 % more on that stream than the
plain list; ``bench/stop_index.py`` shows where each wins: the plain list up to a few thousand
distinct stop prices, and at the trigger end at any size; like the book's, a new stop price far
from the trigger end behind 100,000 others costs a memmove of about 34 us (docs/performance.md).

Trailing stops are also kept by their extreme, in groups (:class:`TrailGroup`): the trailing
sells whose peak is the same form one group, the trailing buys whose trough is the same one.
``trail_sells`` holds the sells' distinct peaks negated and ascending (the lowest peak last),
``trail_buys`` the buys' distinct troughs ascending (the highest last). A new high moves the
sells whose peak is below it, the groups at the end of the list, and they all take the same
peak: they merge into one group, and the stop prices follow (a trailing stop's ``peak`` and
``stop_price`` read its group's extreme). A move costs the groups it merges, not the orders
in them. (The first version scanned every trailing stop after every order; the second kept one
sorted key per order and moved them one by one: both were the largest cost of the conditional
stream of ``bench/engine_bench.py``.)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Final

from matching.arith import MAX_PRICE_TICKS, MarketUnits, base_atoms, notional_atoms
from matching.types import OrderType, Side, StpMode, TimeInForce

MAX_TRIGGERS_PER_COMMAND: Final = 100
"""One command triggers at most this many orders; the rest wait for the market's next command."""

NO_RISE: Final = 4 * MAX_PRICE_TICKS  # an empty rise index's head: above any stop price (a
# trailing buy's may exceed the max), so no last price reaches it
NO_FALL: Final = 0  # an empty fall index's head: every last price is above it
NO_DELTA: Final = 10_000  # a trailing group's smallest delta before it has members

STOP_MARKET: Final = OrderType.STOP_MARKET
STOP_LIMIT: Final = OrderType.STOP_LIMIT
TAKE_PROFIT_MARKET: Final = OrderType.TAKE_PROFIT_MARKET
TAKE_PROFIT_LIMIT: Final = OrderType.TAKE_PROFIT_LIMIT
BUY: Final = Side.BUY


class Conditional:
    """An accepted conditional order that has not triggered yet (status ``untriggered``).

    ``hold`` is what it holds now (cause ``o:<order_id>``); ``cap`` the protection price of a
    ``*_market`` buy by quantity (0 otherwise); ``peak`` a trailing stop's extreme of the last
    trade price (0 when not trailing) and ``stop_price`` its stop, both its group's while it
    trails (``Triggers``); ``rises`` which index it is in; ``iceberg_quantity`` and
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
        "indexed",
        "list_id",
        "order_id",
        "order_type",
        "own_peak",
        "own_stop",
        "price",
        "quantity",
        "quote_quantity",
        "rises",
        "side",
        "stp_mode",
        "symbol",
        "time_in_force",
        "trail_group",
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
        self.own_stop = stop_price
        self.trailing_delta = trailing_delta
        self.own_peak = peak
        self.cap = cap
        self.client_order_id = client_order_id
        self.stp_mode = stp_mode
        self.list_id = list_id
        self.accepted = accepted
        self.hold = hold
        self.iceberg_quantity = iceberg_quantity  # lots shown once it rests (0: not an iceberg)
        self.expire_time = expire_time  # unix ms, a GTD order's (0: none)
        self.rises = rises_on(order_type, side is BUY)
        self.indexed = 0  # the stop price it is indexed at (``Triggers.trail_fall_max``)
        # a trailing stop's group while it trails (``Triggers``): its extreme and stop are the
        # group's; None once it stops trailing (the two fields above then hold them)
        self.trail_group: TrailGroup | None = None

    @property
    def peak(self) -> int:
        """A trailing stop's extreme of the last trade price since acceptance (0: not
        trailing)."""
        group = self.trail_group
        return self.own_peak if group is None else group.peak

    @property
    def stop_price(self) -> int:
        """The stop price; a trailing stop's follows its extreme (``trailing_stop``)."""
        group = self.trail_group
        if group is None:
            return self.own_stop
        return trailing_stop(group.peak, self.trailing_delta or 0, self.side is BUY)

    def stop_trailing(self) -> None:
        """Keep the extreme and stop it has now: it leaves its trailing group."""
        self.own_peak = self.peak
        self.own_stop = self.stop_price
        self.trail_group = None


def rises_on(order_type: OrderType, is_buy: bool) -> bool:
    """True when the order triggers on a rise of the last price (buy stop, sell take-profit)."""
    is_stop = order_type is STOP_MARKET or order_type is STOP_LIMIT
    return is_stop == is_buy


def is_limit_variant(order_type: OrderType) -> bool:
    return order_type is STOP_LIMIT or order_type is TAKE_PROFIT_LIMIT


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


class TrailGroup:
    """The trailing stops of one side in one market that share their extreme: ``peak``, the
    highest last price since they were accepted (sells) or the lowest (buys). A new extreme
    that passes it moves them all the same way, so they move as one (``Triggers``)."""

    __slots__ = ("members", "min_delta", "peak")

    def __init__(self, peak: int) -> None:
        self.peak = peak
        self.members: dict[int, Conditional] = {}  # accepted -> order
        # at most the smallest ``trailing_delta`` of the members (exact after a re-key): their
        # highest stop (sells) or lowest (buys) is at the group's bound with it
        self.min_delta = NO_DELTA


class Triggers:
    """One market's untriggered orders by stop price, its trailing stops by extreme, and the
    legs of its open lists (the module docstring has the layout)."""

    __slots__ = (
        "buy_groups",
        "fall_head",
        "fall_levels",
        "fall_stops",
        "legs",
        "newest",
        "rise_head",
        "rise_levels",
        "rise_stops",
        "sell_groups",
        "size",
        "touched_legs",
        "trade_high",
        "trade_low",
        "trail_buys",
        "trail_fall_max",
        "trail_rise_min",
        "trail_sells",
    )

    def __init__(self) -> None:
        self.rise_levels: dict[int, dict[int, Conditional]] = {}  # stop -> accepted -> order
        self.rise_stops: list[int] = []  # negated stop prices, ascending: the lowest stop last
        self.fall_levels: dict[int, dict[int, Conditional]] = {}
        self.fall_stops: list[int] = []  # stop prices, ascending: the highest last
        # the first stop to trigger of each direction (NO_RISE / NO_FALL when empty): the check
        # after an order that traded is one int comparison per direction when nothing crossed
        self.rise_head = NO_RISE
        self.fall_head = NO_FALL
        self.size = 0  # orders in the two directions
        self.newest = 0  # the highest ``accepted`` indexed so far: a new order goes last
        self.sell_groups: dict[int, TrailGroup] = {}  # peak -> the trailing sells at it
        self.trail_sells: list[int] = []  # their peaks negated, ascending: the lowest last
        self.buy_groups: dict[int, TrailGroup] = {}  # trough -> the trailing buys at it
        self.trail_buys: list[int] = []  # their troughs, ascending: the highest last
        # A trailing stop moves with every new extreme, but is re-keyed in the trigger index
        # only when the last price could cross it: it stays indexed at the stop it had
        # (``Conditional.indexed``; a sell's stop only rises, so it is indexed below it; a buy's
        # only falls), and these bounds say when that is no longer safe: at least the highest
        # stop of the trailing sells (0: none), at most the lowest of the trailing buys
        # (NO_RISE: none). A check whose last price reaches a bound first re-keys that side
        # (``rekey_trailing``), so the index then triggers in the exact order. A stop being at
        # least 10 bps from its extreme, that happens on real moves only.
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
        return not self.size and not self.legs

    # ------------------------------------------------------------ the trigger index

    def add(self, cond: Conditional) -> None:
        """Index ``cond`` at its stop price, after the orders accepted before it."""
        stop = cond.stop_price
        cond.indexed = stop
        levels = self.rise_levels if cond.rises else self.fall_levels
        level = levels.get(stop)
        if level is None:
            levels[stop] = {cond.accepted: cond}
            if cond.rises:
                insort(self.rise_stops, -stop)
                if stop < self.rise_head:
                    self.rise_head = stop
            else:
                insort(self.fall_stops, stop)
                if stop > self.fall_head:
                    self.fall_head = stop
        else:
            level[cond.accepted] = cond
            if cond.accepted < self.newest:  # a re-keyed trailing stop: back in its place
                levels[stop] = dict(sorted(level.items()))
        if cond.accepted > self.newest:
            self.newest = cond.accepted
        self.size += 1

    def remove(self, cond: Conditional) -> None:
        stop = cond.indexed
        rises = cond.rises
        levels = self.rise_levels if rises else self.fall_levels
        level = levels[stop]
        del level[cond.accepted]
        self.size -= 1
        if level:
            return
        del levels[stop]
        if rises:
            stops = self.rise_stops
            del stops[bisect_left(stops, -stop)]
            if stop == self.rise_head:
                self.rise_head = -stops[-1] if stops else NO_RISE
        else:
            stops = self.fall_stops
            del stops[bisect_left(stops, stop)]
            if stop == self.fall_head:
                self.fall_head = stops[-1] if stops else NO_FALL

    def crossed(self, rises: bool, last: int, limit: int) -> list[Conditional]:
        """Up to ``limit`` orders of one direction that ``last`` crossed, in trigger order,
        taken out of the index."""
        if limit <= 0:
            return []
        if rises:
            if last < self.rise_head:
                return []
            levels = self.rise_levels
            stops = self.rise_stops
            sign = -1
        else:
            if last > self.fall_head:
                return []
            levels = self.fall_levels
            stops = self.fall_stops
            sign = 1
        out: list[Conditional] = []
        while stops:
            stop = sign * stops[-1]
            if (stop > last) if rises else (stop < last):
                break
            level = levels[stop]
            room = limit - len(out)
            if len(level) <= room:
                out.extend(level.values())
                del levels[stop]
                stops.pop()
            else:  # the cap: the first ``room`` of the level
                for accepted in list(level)[:room]:
                    out.append(level.pop(accepted))
                break
        self.size -= len(out)
        if rises:
            self.rise_head = -stops[-1] if stops else NO_RISE
        else:
            self.fall_head = stops[-1] if stops else NO_FALL
        return out

    def any_crossed(self, last: int) -> bool:
        return last >= self.rise_head or last <= self.fall_head

    def indexed(self) -> list[Conditional]:
        """Every indexed order, rises then falls, each in trigger order (``validate``)."""
        rises = [c for s in reversed(self.rise_stops) for c in self.rise_levels[-s].values()]
        falls = [c for s in reversed(self.fall_stops) for c in self.fall_levels[s].values()]
        return rises + falls

    # ------------------------------------------------------------ trailing stops

    def add_trailing(self, cond: Conditional) -> None:
        """Make ``cond`` trail from its extreme (``own_peak``): it joins the group there."""
        peak = cond.own_peak
        is_buy = cond.side is BUY
        groups = self.buy_groups if is_buy else self.sell_groups
        group = groups.get(peak)
        if group is None:
            group = groups[peak] = TrailGroup(peak)
            if is_buy:
                insort(self.trail_buys, peak)
            else:
                insort(self.trail_sells, -peak)
        group.members[cond.accepted] = cond
        delta = cond.trailing_delta or 0
        if delta < group.min_delta:
            group.min_delta = delta
        cond.trail_group = group
        self.bound_trailing(cond)

    def remove_trailing(self, cond: Conditional) -> None:
        """``cond`` stops trailing (it triggered or ended): it keeps its extreme and stop."""
        group = cond.trail_group
        if group is None:
            return
        cond.stop_trailing()
        del group.members[cond.accepted]
        if group.members:
            return
        if cond.side is BUY:
            del self.buy_groups[group.peak]
            del self.trail_buys[bisect_left(self.trail_buys, group.peak)]
        else:
            del self.sell_groups[group.peak]
            del self.trail_sells[bisect_left(self.trail_sells, -group.peak)]

    def trail(self, high: int, low: int) -> None:
        """Move the trailing stops whose extreme the trades since the last check passed (a
        sell's peak below ``high``, a buy's trough above ``low``) to it."""
        peaks = self.trail_sells
        if peaks and -peaks[-1] < high:
            start = bisect_right(peaks, -high)  # the groups from here on have a lower peak
            group = _merge(self.sell_groups, [-p for p in peaks[start:]], high)
            del peaks[start:]
            if not peaks or peaks[-1] != -high:
                peaks.append(-high)
            stop = trailing_stop(high, group.min_delta, False)
            if stop > self.trail_fall_max:
                self.trail_fall_max = stop
        troughs = self.trail_buys
        if troughs and troughs[-1] > low:
            start = bisect_right(troughs, low)  # from here on a higher trough
            group = _merge(self.buy_groups, troughs[start:], low)
            del troughs[start:]
            if not troughs or troughs[-1] != low:
                troughs.append(low)
            stop = trailing_stop(low, group.min_delta, True)
            if stop < self.trail_rise_min:
                self.trail_rise_min = stop

    def bound_trailing(self, cond: Conditional) -> None:
        """Widen the trailing bounds to ``cond``'s stop (see ``trail_fall_max``)."""
        stop = cond.stop_price
        if cond.rises:
            if stop < self.trail_rise_min:
                self.trail_rise_min = stop
        elif stop > self.trail_fall_max:
            self.trail_fall_max = stop

    def rekey_trailing(self, rises: bool) -> None:
        """Re-index one direction's trailing stops at their stops now (a trailing buy rises,
        a sell falls); exact bounds and group deltas again."""
        bound = NO_RISE if rises else 0
        for group in (self.buy_groups if rises else self.sell_groups).values():
            min_delta = NO_DELTA
            for cond in group.members.values():
                stop = cond.stop_price
                if cond.indexed != stop:
                    self.remove(cond)
                    self.add(cond)
                bound = min(bound, stop) if rises else max(bound, stop)
                min_delta = min(min_delta, cond.trailing_delta or 0)
            group.min_delta = min_delta
        if rises:
            self.trail_rise_min = bound
        else:
            self.trail_fall_max = bound


def _merge(groups: dict[int, TrailGroup], extremes: list[int], to: int) -> TrailGroup:
    """Merge the groups at ``extremes`` (taken out of ``groups``) into one at ``to``, the group
    already there or else the largest of them (its members need no new pointer)."""
    moved = [groups.pop(extreme) for extreme in extremes]
    target = groups.get(to)
    if target is None:
        target = moved[0]
        for group in moved:
            if len(group.members) > len(target.members):
                target = group
        target.peak = to
        groups[to] = target
    for group in moved:
        if group is target:
            continue
        members = group.members
        for cond in members.values():
            cond.trail_group = target
        target.members.update(members)
        if group.min_delta < target.min_delta:
            target.min_delta = group.min_delta
    return target


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
