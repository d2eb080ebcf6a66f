"""A naive reference matcher for the engine tests: same trades, none of the engine's structures.

Each side of the book is a plain list; the best maker is found by an O(n) scan for (best price,
earliest arrival). It knows price-time priority, partial fills, IOC, market orders by quantity,
cancels and the three self-trade-prevention modes; icebergs (a maker trades its visible slice,
then is refilled with a new arrival: the back of its level), GTD orders and Ticks (every order
due is dropped, in (expire time, order id) order), and FOK, naively: it matches a copy of the
book and keeps the result only if the order filled completely; and conditional orders: stop and
take-profit (limit variants GTC / IOC, market variants by quantity, a buy's protection price),
trailing stops, triggers after each order that traded (direction of the taker first, stop price
from where the price came, then acceptance), cascades and their cap. Untriggered orders are a
plain list scanned in full. It knows nothing about balances: every account is funded far beyond
what a stream can spend.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from matching.commands import CancelOrder, Command, PlaceOrder, Tick
from matching.types import OrderType, Side, StpMode, TimeInForce

CAP = 100  # MAX_TRIGGERS_PER_COMMAND, written out: the reference does not read the engine
STOPS = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
LIMIT_VARIANTS = (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)


@dataclass
class RefOrder:
    order_id: int
    account: int
    is_buy: bool
    price: int
    remaining: int
    arrival: int
    display: int = 0  # an iceberg's slice size
    visible: int = 0  # what an iceberg shows now
    expire_time: int = 0  # ms, a GTD order's


@dataclass
class RefConditional:
    cmd: PlaceOrder
    stop: int
    peak: int
    cap: int
    arrival: int

    @property
    def rises(self) -> bool:
        return (self.cmd.type in STOPS) == (self.cmd.side is Side.BUY)


class ReferenceMatcher:
    def __init__(self) -> None:
        self.bids: list[RefOrder] = []
        self.asks: list[RefOrder] = []
        self.arrival = 0
        self.seen: set[int] = set()
        self.trades: list[tuple[int, int, int, int]] = []  # maker id, taker id, price, qty
        self.last = 0
        self.waiting: list[RefConditional] = []
        self.backlog: bool | None = None  # rise first, when a capped cascade left orders
        self.expired: list[int] = []  # order ids expired by Ticks, in the order expected

    def _best(self, side: list[RefOrder], is_buy_side: bool) -> RefOrder | None:
        best: RefOrder | None = None
        for o in side:
            if best is None:
                best = o
            elif is_buy_side and (o.price, -o.arrival) > (best.price, -best.arrival):
                best = o
            elif not is_buy_side and (o.price, o.arrival) < (best.price, best.arrival):
                best = o
        return best

    def apply(self, cmd: Command) -> None:
        fired = 0
        if self.backlog is not None:
            rise_first, self.backlog = self.backlog, None
            fired = self._cascade([], rise_first, 0)
        if isinstance(cmd, Tick):
            due = sorted(
                (o.expire_time, o.order_id)
                for o in self.bids + self.asks
                if o.expire_time and o.expire_time * 1_000_000 <= cmd.ts
            )
            self.expired += [order_id for _, order_id in due]
            gone = {order_id for _, order_id in due}
            self.bids = [o for o in self.bids if o.order_id not in gone]
            self.asks = [o for o in self.asks if o.order_id not in gone]
            return
        if isinstance(cmd, CancelOrder):
            self.waiting = [
                c
                for c in self.waiting
                if not (c.cmd.order_id == cmd.order_id and c.cmd.account == cmd.account)
            ]
            for side in (self.bids, self.asks):
                for o in side:
                    if o.order_id == cmd.order_id and o.account == cmd.account:
                        side.remove(o)
                        return
            return
        assert isinstance(cmd, PlaceOrder)
        if cmd.order_id in self.seen:
            return
        if cmd.type not in (OrderType.LIMIT, OrderType.MARKET):
            self._place_conditional(cmd)
            return
        assert cmd.quantity is not None
        is_market = cmd.type is OrderType.MARKET
        rests = not is_market and cmd.time_in_force in (TimeInForce.GTC, TimeInForce.GTD)
        limit = None if is_market else cmd.price
        if cmd.time_in_force is TimeInForce.FOK and not is_market:
            before = copy.deepcopy(
                (self.bids, self.asks, self.arrival, len(self.trades), self.last)
            )
            prices = self._match(cmd, limit, cmd.quantity, False)
            if sum(t[3] for t in self.trades[before[3] :]) < cmd.quantity:  # refused
                self.bids, self.asks, self.arrival, count, self.last = before
                del self.trades[count:]
                return
        else:
            prices = self._match(cmd, limit, cmd.quantity, rests)
        self.seen.add(cmd.order_id)
        self._cascade(prices, cmd.side is Side.BUY, fired)

    def _place_conditional(self, cmd: PlaceOrder) -> None:
        is_buy = cmd.side is Side.BUY
        if cmd.trailing_delta is not None:
            if not self.last:
                return
            peak = self.last
            stop = _trailing(peak, cmd.trailing_delta, is_buy)
        else:
            assert cmd.stop_price is not None
            peak, stop = 0, cmd.stop_price
        cond = RefConditional(cmd, stop, peak, 0, 0)
        if self._crossed(cond):
            return  # would_trigger_immediately
        if is_buy and cmd.type not in LIMIT_VARIANTS:
            cond.cap = -(-stop * 11_000 // 10_000)
        self.seen.add(cmd.order_id)
        self.arrival += 1
        cond.arrival = self.arrival
        self.waiting.append(cond)

    def _crossed(self, cond: RefConditional) -> bool:
        if not self.last:
            return False
        return self.last >= cond.stop if cond.rises else self.last <= cond.stop

    def _cascade(self, prices: list[int], rise_first: bool, fired: int) -> int:
        queue: list[RefConditional] = []
        fired = self._check(prices, rise_first, fired, queue)
        while queue:
            cond = queue.pop(0)
            cmd = cond.cmd
            is_buy = cmd.side is Side.BUY
            assert cmd.quantity is not None
            if cmd.type in LIMIT_VARIANTS:
                rests = cmd.time_in_force is TimeInForce.GTC
                prices = self._match(cmd, cmd.price, cmd.quantity, rests)
            else:
                prices = self._match(cmd, cond.cap if is_buy else None, cmd.quantity, False)
            fired = self._check(prices, is_buy, fired, queue)
        return fired

    def _check(
        self, prices: list[int], rise_first: bool, fired: int, queue: list[RefConditional]
    ) -> int:
        if prices:
            for cond in self.waiting:
                delta = cond.cmd.trailing_delta
                if delta is None:
                    continue
                is_buy = cond.cmd.side is Side.BUY
                extreme = min(prices) if is_buy else max(prices)
                if (extreme < cond.peak) if is_buy else (extreme > cond.peak):
                    cond.peak = extreme
                    cond.stop = _trailing(extreme, delta, is_buy)
        crossed = [c for c in self.waiting if self._crossed(c)]
        rises = sorted((c for c in crossed if c.rises), key=lambda c: (c.stop, c.arrival))
        falls = sorted((c for c in crossed if not c.rises), key=lambda c: (-c.stop, c.arrival))
        ordered = rises + falls if rise_first else falls + rises
        taken = ordered[: CAP - fired]
        for cond in taken:
            self.waiting.remove(cond)
        queue.extend(taken)
        if len(taken) < len(ordered):
            self.backlog = rise_first
        return fired + len(taken)

    def _match(self, cmd: PlaceOrder, limit: int | None, quantity: int, rests: bool) -> list[int]:
        """Match ``cmd`` (limit None: a market order) and rest what is left if ``rests``;
        return the prices it traded at."""
        is_buy = cmd.side is Side.BUY
        remaining = quantity
        opposite = self.asks if is_buy else self.bids
        stopped = False
        prices: list[int] = []
        while remaining and not stopped:
            best = self._best(opposite, not is_buy)
            if best is None:
                break
            if limit is not None and ((best.price > limit) if is_buy else (best.price < limit)):
                break
            if best.account == cmd.account:
                if cmd.stp_mode is StpMode.EXPIRE_TAKER:
                    stopped = True
                    break
                opposite.remove(best)
                if cmd.stp_mode is StpMode.EXPIRE_BOTH:
                    stopped = True
                continue
            q = min(remaining, best.visible if best.display else best.remaining)
            self.trades.append((best.order_id, cmd.order_id, best.price, q))
            prices.append(best.price)
            self.last = best.price
            remaining -= q
            best.remaining -= q
            best.visible -= q
            if not best.remaining:
                opposite.remove(best)
            elif best.display and not best.visible:  # refilled, at the back of its level
                best.visible = min(best.display, best.remaining)
                self.arrival += 1
                best.arrival = self.arrival
        if remaining and not stopped and rests:
            assert limit is not None
            self.arrival += 1
            own = self.bids if is_buy else self.asks
            display = cmd.iceberg_quantity or 0
            own.append(
                RefOrder(
                    cmd.order_id,
                    cmd.account,
                    is_buy,
                    limit,
                    remaining,
                    self.arrival,
                    display,
                    min(display, remaining),
                    cmd.expire_time or 0,
                )
            )
        return prices

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        def agg(side: list[RefOrder], reverse: bool) -> list[tuple[int, int]]:
            levels: dict[int, int] = {}
            for o in side:
                levels[o.price] = levels.get(o.price, 0) + (o.visible if o.display else o.remaining)
            return sorted(levels.items(), reverse=reverse)

        return agg(self.bids, True), agg(self.asks, False)

    def untriggered(self) -> dict[int, int]:
        """Untriggered order id -> its stop price now."""
        return {c.cmd.order_id: c.stop for c in self.waiting}


def _trailing(peak: int, delta: int, is_buy: bool) -> int:
    if is_buy:
        return -(-peak * (10_000 + delta) // 10_000)
    return peak * (10_000 - delta) // 10_000
