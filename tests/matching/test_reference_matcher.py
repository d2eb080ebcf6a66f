"""The engine against a naive reference matcher on seeded random streams: same trades.

The reference keeps each side as a plain list and finds the best maker by an O(n) scan for
(best price, earliest arrival). It knows price-time priority, partial fills, IOC, market
orders by quantity, cancels and the three self-trade-prevention modes, and nothing about
balances: every account is funded far beyond what the stream can spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from matching.commands import CancelOrder, Command, PlaceOrder
from matching.events import TradeExecuted
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


class ReferenceMatcher:
    def __init__(self) -> None:
        self.bids: list[RefOrder] = []
        self.asks: list[RefOrder] = []
        self.arrival = 0
        self.seen: set[int] = set()
        self.trades: list[tuple[int, int, int, int]] = []  # maker id, taker id, price, qty

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
        self.seen.add(cmd.order_id)
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
            q = min(remaining, best.remaining)
            self.trades.append((best.order_id, cmd.order_id, best.price, q))
            remaining -= q
            best.remaining -= q
            if not best.remaining:
                opposite.remove(best)
        if remaining and not stopped and not is_market and cmd.time_in_force is TimeInForce.GTC:
            assert cmd.price is not None
            self.arrival += 1
            own = self.bids if is_buy else self.asks
            own.append(
                RefOrder(cmd.order_id, cmd.account, is_buy, cmd.price, remaining, self.arrival)
            )

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        def agg(side: list[RefOrder], reverse: bool) -> list[tuple[int, int]]:
            levels: dict[int, int] = {}
            for o in side:
                levels[o.price] = levels.get(o.price, 0) + o.remaining
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
