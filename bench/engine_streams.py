"""The seeded command streams ``bench/engine_bench.py`` times (built outside the timed region).

``plain``: one market (BTC-USDT), ~50 % resting limits, ~20 % crossing limits, ~5 % market
orders, ~25 % cancels of live orders; a few thousand live orders over a few hundred price
levels; 1,000 accounts funded by Deposit commands. The same seed gives the same stream as
before conditional orders existed, so its figures compare with the diary in
docs/performance.md.

``conditional``: the plain stream's commands, drawn the same way, with a conditional command
after about one in nine of them (its own seeded draws), so that a tenth of the stream is
conditional: three in five place a stop-limit, stop-market, take-profit-limit, trailing-stop or
OCO order with its stop 1-300 ticks from the last trade (the plain stream's price wanders about
150 ticks either way, so some trigger while it runs, each executing inside the command whose
trade crossed it), two in five cancel a waiting one (traders move their stops). The plain
commands' cancels keep to the orders they would cancel in the plain stream, so the book keeps
its depth. Cut at the same length as the plain stream. (Earlier designs, measured in
docs/performance.md: taken out of the resting limits, the triggered takers drained the book; with
every conditional order left to wait or trigger, the shared cancels deepened the book.)

Both are built against a scratch engine, so cancels target orders that are live.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from matching.commands import (
    AddMarket,
    CancelOrder,
    Command,
    Deposit,
    PlaceOrder,
    PlaceOrderList,
)
from matching.engine import MatchingEngine
from matching.events import TradeExecuted
from matching.types import AssetSpec, MarketSpec, OrderType, Side, StpMode, TimeInForce

SYM = "BTC-USDT"
SPEC = MarketSpec(
    symbol=SYM,
    base=AssetSpec("BTC", 8),
    quote=AssetSpec("USDT", 6),
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.0001"),  # 0.01 x 0.0001 x 10**6 = 1 quote atom per tick-lot
    min_notional=Decimal("1"),
    maker_fee_rate=Decimal("0.0002"),
    taker_fee_rate=Decimal("0.0005"),
)
MID = 3_000_000  # 30,000.00 USDT
ACCOUNTS = 1_000
FEE_ACCOUNT = 0
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
STP = StpMode.EXPIRE_TAKER
STREAMS = ("plain", "conditional")


def setup_commands() -> list[Command]:
    cmds: list[Command] = [AddMarket("m", 0, SPEC)]
    for a in range(1, ACCOUNTS + 1):
        cmds.append(Deposit(f"d{a}b", 0, f"dep-b-{a}", a, "BTC", 10**8 * 10**6))
        cmds.append(Deposit(f"d{a}q", 0, f"dep-q-{a}", a, "USDT", 10**15 * 10**6))
    return cmds


def _order(
    command_id: str,
    ts: int,
    order_id: int,
    account: int,
    side: Side,
    kind: OrderType,
    tif: TimeInForce,
    price: int | None,
    quantity: int | None,
    quote_quantity: int | None = None,
    **conditional: int | None,
) -> PlaceOrder:
    return PlaceOrder(
        command_id,
        ts,
        order_id,
        account,
        SYM,
        side,
        kind,
        tif,
        price,
        quantity,
        quote_quantity,
        False,
        STP,
        None,
        **conditional,
    )


def mixed_stream(
    n: int, seed: int, stream: str = "plain"
) -> tuple[list[Command], list[Command], list[str]]:
    """(setup, stream, kind of each stream command), built against a scratch engine."""
    conditional = stream == "conditional"
    rng = random.Random(seed)
    extra = random.Random(seed + 1)  # the conditional commands' own draws: the others stay
    setup = setup_commands()
    scratch = MatchingEngine(FEE_ACCOUNT)
    for cmd in setup:
        scratch.apply(cmd)
    book = scratch.markets_by_symbol[SYM].book
    cmds: list[Command] = []
    kinds: list[str] = []
    oid = 0
    list_id = 0
    live_ids: list[int] = []
    waiting: list[int] = []  # conditional orders placed: cancelled by their own draws
    last = MID  # the last trade price, as the scratch engine's trades set it

    def apply(c: Command) -> None:
        nonlocal last
        for event in scratch.apply(c):
            if type(event) is TradeExecuted:
                last = event.price

    # warm the book to a few thousand live orders over a few hundred levels
    for i in range(3_000):
        oid += 1
        side = BUY if i % 2 else SELL
        off = rng.randint(1, 150)
        price = MID - off if side is BUY else MID + off
        c: Command = _order(
            f"w{i}", i, oid, rng.randint(1, ACCOUNTS), side, LIMIT, GTC, price, rng.randint(1, 50)
        )
        setup.append(c)
        apply(c)
        live_ids.append(oid)
    for i in range(n):
        r = rng.random()
        acct = rng.randint(1, ACCOUNTS)
        side = BUY if rng.random() < 0.5 else SELL
        if r < 0.25 and live_ids:
            # cancel a live order (owner's account); prune ids that died meanwhile
            while live_ids:
                j = rng.randrange(len(live_ids))
                victim = live_ids[j]
                live_ids[j] = live_ids[-1]
                live_ids.pop()
                view = scratch.order(victim)
                if view is not None:
                    c = CancelOrder(f"c{i}", i, view.account, SYM, victim, None)
                    kinds.append("cancel")
                    break
            else:
                continue
        elif r < 0.75:
            oid += 1
            off = rng.randint(1, 150)
            price = MID - off if side is BUY else MID + off
            c = _order(f"c{i}", i, oid, acct, side, LIMIT, GTC, price, rng.randint(1, 50))
            kinds.append("limit_rest")
            live_ids.append(oid)
        elif r < 0.95:
            oid += 1
            off = rng.randint(0, 5)
            if side is BUY:
                price = (book.best_ask if book.best_ask < 10**9 else MID) + off
            else:
                price = (book.best_bid if book.best_bid else MID) - off
            tif = GTC if rng.random() < 0.5 else IOC
            c = _order(f"c{i}", i, oid, acct, side, LIMIT, tif, price, rng.randint(1, 200))
            kinds.append("limit_cross")
            live_ids.append(oid)
        else:
            oid += 1
            if side is BUY and rng.random() < 0.5:
                quote = rng.randint(10_000_000, 100_000_000)
                c = _order(f"c{i}", i, oid, acct, BUY, MARKET, IOC, None, None, quote)
            else:
                c = _order(f"c{i}", i, oid, acct, side, MARKET, IOC, None, rng.randint(1, 40))
            kinds.append("market")
        cmds.append(c)
        apply(c)
        if conditional and extra.random() < 1 / 9:  # then a tenth of the stream is conditional
            c, kind = _waiting_cancel(extra, i, waiting, scratch)
            if c is None:
                oid += 1
                c, kind = _conditional(extra, i, oid, list_id + 1, extra.randint(1, ACCOUNTS), last)
                if kind == "oco":
                    list_id += 1
                    oid += 1  # the stop leg's id
                waiting.append(oid)  # (an OCO: its stop leg; cancelling it cancels the list)
            cmds.append(c)
            kinds.append(kind)
            apply(c)
    return setup, cmds[:n], kinds[:n]


def _waiting_cancel(
    rng: random.Random, i: int, waiting: list[int], scratch: MatchingEngine
) -> tuple[Command | None, str]:
    """Two conditional commands in five cancel a waiting conditional order (traders move their
    stops); None when this one places a new one, or when none is waiting any more."""
    if rng.random() >= 0.4:
        return None, ""
    while waiting:
        j = rng.randrange(len(waiting))
        victim = waiting[j]
        waiting[j] = waiting[-1]
        waiting.pop()
        view = scratch.order(victim)
        if view is not None and view.untriggered:
            return CancelOrder(f"k{i}", i, view.account, SYM, victim, None), "cancel_conditional"
    return None, ""


def _conditional(
    rng: random.Random, i: int, oid: int, list_id: int, acct: int, last: int
) -> tuple[Command, str]:
    """One conditional command near the last trade price: 40 % stop-limit, 20 % stop-market,
    20 % take-profit-limit, 10 % trailing stop-market, 10 % OCO; stop prices 1-300 ticks away."""
    side = BUY if rng.random() < 0.5 else SELL
    r = rng.random()
    gap = rng.randint(1, 300)
    lots = rng.randint(1, 50)
    is_buy = side is BUY
    stop_side = last + gap if is_buy else last - gap  # a stop fires on a move against
    profit_side = last - gap if is_buy else last + gap  # a take-profit on a move for
    if r < 0.4:
        limit = stop_side + 5 if is_buy else stop_side - 5
        return _order(
            f"k{i}", i, oid, acct, side, OrderType.STOP_LIMIT, GTC, limit, lots,
            stop_price=stop_side,
        ), "stop_limit"  # fmt: skip
    if r < 0.6:
        return _order(
            f"k{i}", i, oid, acct, side, OrderType.STOP_MARKET, GTC, None, lots,
            stop_price=stop_side,
        ), "stop_market"  # fmt: skip
    if r < 0.8:
        return _order(
            f"k{i}", i, oid, acct, side, OrderType.TAKE_PROFIT_LIMIT, GTC, profit_side, lots,
            stop_price=profit_side,
        ), "take_profit_limit"  # fmt: skip
    if r < 0.9:
        return _order(
            f"k{i}", i, oid, acct, side, OrderType.STOP_MARKET, GTC, None, lots,
            trailing_delta=rng.choice((10, 25, 50)),
        ), "trailing_stop"  # fmt: skip
    # an OCO: the limit leg on the profit side (it must not take: a few ticks further out),
    # the stop-limit leg on the stop side; ids oid (limit) and oid + 1 (stop)
    limit = profit_side - 5 if is_buy else profit_side + 5
    stop_limit = stop_side + 5 if is_buy else stop_side - 5
    return PlaceOrderList(
        f"k{i}", i, list_id, acct, SYM, side, lots, limit, stop_side, stop_limit, GTC,
        oid, oid + 1, None, None, None, STP,
    ), "oco"  # fmt: skip


def resting_orders(n: int, with_client_ids: bool) -> Iterator[Command]:
    rng = random.Random(7)
    for i in range(1, n + 1):
        side = BUY if i % 2 else SELL
        off = rng.randint(1, 2_000)
        price = MID - off if side is BUY else MID + off
        yield PlaceOrder(
            "r",
            i,
            i,
            rng.randint(1, ACCOUNTS),
            SYM,
            side,
            LIMIT,
            GTC,
            price,
            rng.randint(1, 50),
            None,
            False,
            STP,
            f"cli-{i:012d}" if with_client_ids else None,
        )
