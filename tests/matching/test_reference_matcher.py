"""The engine against a naive reference matcher on seeded random streams: same trades.

The reference keeps each side as a plain list and finds the best maker by an O(n) scan for
(best price, earliest arrival). It knows price-time priority, partial fills, IOC, market
orders by quantity, cancels and the three self-trade-prevention modes, and nothing about
balances: every account is funded far beyond what the stream can spend. It also knows
icebergs (a maker trades its visible slice, then is refilled with a new arrival: the back of
its level), GTD orders and Ticks (every order due is dropped), and FOK, naively: it matches a
copy of the book and keeps the result only if the order filled completely.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import pytest

from matching.commands import CancelOrder, Command, PlaceOrder, Tick
from matching.events import OrderExpired, TradeExecuted
from matching.types import OrderType, Side, StpMode, TimeInForce
from tests.matching import streams
from tests.matching.builders import BTC, LOT, SYM, USD, deposit, new_engine


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


class ReferenceMatcher:
    def __init__(self) -> None:
        self.bids: list[RefOrder] = []
        self.asks: list[RefOrder] = []
        self.arrival = 0
        self.seen: set[int] = set()
        self.trades: list[tuple[int, int, int, int]] = []  # maker id, taker id, price, qty
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
            for side in (self.bids, self.asks):
                for o in side:
                    if o.order_id == cmd.order_id and o.account == cmd.account:
                        side.remove(o)
                        return
            return
        assert isinstance(cmd, PlaceOrder)
        if cmd.order_id in self.seen:
            return
        if cmd.time_in_force is TimeInForce.FOK:
            before = copy.deepcopy((self.bids, self.asks, self.arrival, len(self.trades)))
            if self._place(cmd):
                self.seen.add(cmd.order_id)
            else:  # refused: nothing happened
                self.bids, self.asks, self.arrival, count = before
                del self.trades[count:]
            return
        self.seen.add(cmd.order_id)
        self._place(cmd)

    def _place(self, cmd: PlaceOrder) -> bool:
        """Match and maybe rest ``cmd``; True when it filled completely."""
        is_buy = cmd.side is Side.BUY
        is_market = cmd.type is OrderType.MARKET
        assert cmd.quantity is not None
        remaining = cmd.quantity
        opposite = self.asks if is_buy else self.bids
        stopped = False
        while remaining and not stopped:
            best = self._best(opposite, not is_buy)
            if best is None:
                break
            if not is_market:
                assert cmd.price is not None
                if (best.price > cmd.price) if is_buy else (best.price < cmd.price):
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
            remaining -= q
            best.remaining -= q
            best.visible -= q
            if not best.remaining:
                opposite.remove(best)
            elif best.display and not best.visible:  # refilled, at the back of its level
                best.visible = min(best.display, best.remaining)
                self.arrival += 1
                best.arrival = self.arrival
        rests = cmd.time_in_force in (TimeInForce.GTC, TimeInForce.GTD)
        if remaining and not stopped and not is_market and rests:
            assert cmd.price is not None
            self.arrival += 1
            own = self.bids if is_buy else self.asks
            display = cmd.iceberg_quantity or 0
            own.append(
                RefOrder(
                    cmd.order_id,
                    cmd.account,
                    is_buy,
                    cmd.price,
                    remaining,
                    self.arrival,
                    display,
                    min(display, remaining),
                    cmd.expire_time or 0,
                )
            )
        return not remaining

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        def agg(side: list[RefOrder], reverse: bool) -> list[tuple[int, int]]:
            levels: dict[int, int] = {}
            for o in side:
                levels[o.price] = levels.get(o.price, 0) + (o.visible if o.display else o.remaining)
            return sorted(levels.items(), reverse=reverse)

        return agg(self.bids, True), agg(self.asks, False)


@pytest.mark.parametrize("seed", range(8))
def test_engine_trades_like_the_reference_when_fed_a_seeded_stream(seed: int) -> None:
    # given: an engine and a reference, six very rich accounts
    engine = new_engine(spec=streams.LOW_MIN_SPEC)
    for account in range(1, 7):
        engine.apply(deposit(account, BTC, 10**9 * LOT))
        engine.apply(deposit(account, USD, 10**12))
    reference = ReferenceMatcher()
    stream = streams.seeded_orders(seed, 3_000)
    trades: list[tuple[int, int, int, int]] = []
    # when: both see the same stream
    for cmd in stream:
        reference.apply(cmd)
        for ev in engine.apply(cmd):
            if isinstance(ev, TradeExecuted):
                trades.append((ev.maker_order_id, ev.taker_order_id, ev.price, ev.quantity))
    # then: the same trades in the same order, and the same resting book
    engine.validate()
    assert len(trades) > 500
    assert trades == reference.trades
    depth = engine.depth(SYM, 1_000)
    assert (depth.bids, depth.asks) == reference.depth()


@pytest.mark.parametrize("seed", range(8))
def test_engine_trades_and_expires_like_the_reference_when_the_stream_has_icebergs_and_gtd(
    seed: int,
) -> None:
    # given: an engine and a reference, six very rich accounts
    engine = new_engine(spec=streams.LOW_MIN_SPEC)
    for account in range(1, 7):
        engine.apply(deposit(account, BTC, 10**9 * LOT))
        engine.apply(deposit(account, USD, 10**12))
    reference = ReferenceMatcher()
    stream = streams.seeded_orders_with_options(seed, 3_000)
    trades: list[tuple[int, int, int, int]] = []
    expired: list[int] = []
    # when: both see the same stream (icebergs, GTD orders, FOK, Ticks)
    for cmd in stream:
        reference.apply(cmd)
        for ev in engine.apply(cmd):
            if isinstance(ev, TradeExecuted):
                trades.append((ev.maker_order_id, ev.taker_order_id, ev.price, ev.quantity))
            elif isinstance(ev, OrderExpired) and isinstance(cmd, Tick):
                expired.append(ev.order_id)
        if isinstance(cmd, Tick):
            depth = engine.depth(SYM, 1_000)
            assert (depth.bids, depth.asks) == reference.depth()
    # then: the same trades, the same expiries, the same book; and the stream did exercise them
    engine.validate()
    assert trades == reference.trades
    assert expired == reference.expired
    depth = engine.depth(SYM, 1_000)
    assert (depth.bids, depth.asks) == reference.depth()
    assert len(trades) > 500 and len(expired) > 50
    iceberg_ids = {c.order_id for c in stream if isinstance(c, PlaceOrder) and c.iceberg_quantity}
    refills = sum(1 for a, b in itertools.pairwise(trades) if a[0] == b[0] and a[1] == b[1])
    assert refills > 10  # the same taker met the same iceberg again
    assert any(t[0] in iceberg_ids for t in trades)


def test_reference_is_not_trivially_equal_when_priority_is_broken() -> None:
    # a guard for the comparison itself: two makers at one price fill in arrival order
    reference = ReferenceMatcher()
    a = PlaceOrder(
        "1",
        1,
        1,
        1,
        SYM,
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.GTC,
        100,
        5,
        None,
        False,
        StpMode.EXPIRE_TAKER,
        None,
    )
    b = a._replace(order_id=2, account=2)
    taker = PlaceOrder(
        "3",
        1,
        3,
        3,
        SYM,
        Side.BUY,
        OrderType.MARKET,
        TimeInForce.IOC,
        None,
        7,
        None,
        False,
        StpMode.EXPIRE_TAKER,
        None,
    )
    for cmd in (a, b, taker):
        reference.apply(cmd)
    assert reference.trades == [(1, 3, 100, 5), (2, 3, 100, 2)]
