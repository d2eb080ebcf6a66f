"""The matching engine: ``MatchingEngine.apply(command) -> list[Event]``.

Pure and deterministic: no clock, no randomness, no I/O. The same command stream always gives
the same events and the same :meth:`MatchingEngine.state_hash`. ``apply`` never raises on bad
input (rejections are events); it assumes well-typed commands, which ``matching.codec``
guarantees for everything that arrives over the network.

Where each command is handled (each module's docstring holds its part of the contract)
--------------------------------------------------------------------------------------
========================================================  =====================================
``PlaceOrder``                                            ``matching.orders`` (validation,
                                                          holds, outcome) and ``matching.fills``
                                                          (the fill loop: fees, self-trade
                                                          prevention, settlement);
                                                          icebergs: ``matching.iceberg``
``PlaceOrder`` of ``stop_*`` / ``take_profit_*``          ``matching.conditional`` (validation,
                                                          hold, ``untriggered``); the index is
                                                          ``matching.untriggered``
(after a PlaceOrder in a market with untriggered          ``matching.triggers`` (OCO rules,
orders or OCO legs)                                       trailing, triggers, cascade and cap)
``PlaceOrderList``, ``CancelOrderList``                   ``matching.order_lists``
``CancelOrder``, ``CancelAll``                            ``matching.cancels``
``AmendOrder``                                            ``matching.amends``
``Tick`` (GTD expiry)                                     ``matching.expiry``
``Deposit``, ``Withdraw``, ``SettleWithdrawal``,          ``matching.transfers``
``ReleaseWithdrawal``, ``ReportTotals``
``AddMarket``, ``UpdateMarket``, ``SetMarketStatus``      ``matching.markets``
========================================================  =====================================

A capped cascade leaves its market in ``cond.backlog``; ``apply`` then first triggers what
waits there for the next command addressed to that market. ``validate`` checks the conditional
part through ``matching.validate_conditional``.

They all work on ``matching.state.EngineState`` (markets, balances, open-order indexes, the
event sequence), which this module's :class:`MatchingEngine` extends with ``apply``, the read
views and ``validate``. Amounts are integers throughout; ``matching.arith`` does all amount
arithmetic, ``matching.book`` all book operations.

Decided semantics (the contract other components code against)
---------------------------------------------------------------
*Identities.* Account ids are ints, asset codes strs. The fee account is an ordinary account
given at construction; it receives every fee (reason ``fee``). Order ids are unique over all
orders ever *accepted*; client order ids are unique per account over all that account's accepted
orders, open or closed. A rejected order leaves no trace: its ids are not consumed.

*Refusals.* A refused order is ``OrderRejected``, a refused transfer ``TransferRejected``, any
other refused command ``CommandRejected``; none changes anything but the sequence number. An
unknown command is ``CommandRejected(invalid_command)``.

*Events.* ``seq`` +1 per event across the engine. ``BalanceChanged`` is unique per
``(account, asset, reason, cause)``: causes are ``x:<transfer_id>``, ``o:<order_id>`` (order
hold and final release), ``t:<symbol>:<trade_id>`` (fills, price-improvement release, fees),
``a:<order_id>:<seq>`` (amends) and ``g:<order_id>`` (an OCO stop leg's hold at its trigger).
``trade_id`` counts per market from 1. ``BookChanged`` is
emitted once per order that changed a market's levels (so once per command, but where a command
triggers orders or cancels an OCO leg: one per executed order and cancelled leg), best price
first per side, with ``update_id`` +1 per market.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from matching.amends import amend_order
from matching.arith import order_hold
from matching.balances import PENDING
from matching.book import NO_ASK, NO_BID, Order
from matching.cancels import cancel_all, cancel_order
from matching.commands import (
    AddMarket,
    AmendOrder,
    CancelAll,
    CancelOrder,
    CancelOrderList,
    Command,
    Deposit,
    PlaceOrder,
    PlaceOrderList,
    ReleaseWithdrawal,
    ReportTotals,
    SetMarketStatus,
    SettleWithdrawal,
    Tick,
    UpdateMarket,
    Withdraw,
)
from matching.emit import command_rejected
from matching.errors import EngineInvariantError, RejectReason
from matching.events import Event
from matching.expiry import check_expiries, next_expiry_ns, tick
from matching.markets import add_market, set_market_status, update_market
from matching.order_lists import cancel_order_list, place_order_list
from matching.orders import place_order
from matching.state import EngineState, Market
from matching.transfers import (
    deposit,
    release_withdrawal,
    report_totals,
    settle_withdrawal,
    withdraw,
)
from matching.triggers import run_after_order
from matching.types import MarketSpec, Side
from matching.untriggered import Conditional
from matching.validate_conditional import validate_conditionals

__all__ = ["Depth", "Market", "MatchingEngine", "OrderView"]

# bound once: ``Side.BUY`` in compiled code is an attribute lookup on the enum class through
# Python's type machinery (about 900 instructions, once per order that traded, measured)
BUY: Final = Side.BUY

Handler = Callable[[EngineState, Any], list[Event]]

_HANDLERS: dict[type, Handler] = {
    PlaceOrder: place_order,
    CancelOrder: cancel_order,
    CancelAll: cancel_all,
    AmendOrder: amend_order,
    PlaceOrderList: place_order_list,
    CancelOrderList: cancel_order_list,
    Deposit: deposit,
    Withdraw: withdraw,
    SettleWithdrawal: settle_withdrawal,
    ReleaseWithdrawal: release_withdrawal,
    AddMarket: add_market,
    UpdateMarket: update_market,
    SetMarketStatus: set_market_status,
    ReportTotals: report_totals,
    Tick: tick,
}


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
    remaining: int  # all it has left, an iceberg's hidden part too (the depth shows the slice)
    client_order_id: str | None
    iceberg_quantity: int | None = None
    expire_time: int | None = None  # unix ms, a GTD order's
    # a conditional order waiting for its trigger (not in the book; ``price`` 0 and
    # ``quantity`` 0 where it has none: market variants, a buy by quote)
    untriggered: bool = False
    stop_price: int | None = None


class MatchingEngine(EngineState):
    """All markets, books and balances of one matcher. See the module docstring."""

    # ------------------------------------------------------------------ entry point

    def apply(self, cmd: Command) -> list[Event]:
        """Apply one command; return its events (possibly none). Never raises on bad input."""
        if self.cond.backlog:  # a cascade hit its cap: its market's next command goes on
            return self._apply_after_backlog(cmd)
        # the two commands that make most of the traffic skip the dict lookup: an identity
        # test on the class is cheaper
        kind = type(cmd)
        if kind is PlaceOrder:
            events = place_order(self, cmd)  # type: ignore[arg-type]  # no narrowing via `kind`
            if self.after_order is not None:  # its market has untriggered orders or OCO legs
                self._run_triggers(events, cmd)  # type: ignore[arg-type]
            return events
        if kind is CancelOrder:
            return cancel_order(self, cmd)  # type: ignore[arg-type]
        handler = _HANDLERS.get(kind)
        if handler is None:
            self.seq += 1
            return [
                command_rejected(
                    seq=self.seq,
                    command_id=str(getattr(cmd, "command_id", "")),
                    ts=int(getattr(cmd, "ts", 0) or 0),
                    reason=RejectReason.INVALID_COMMAND,
                )
            ]
        return handler(self, cmd)

    # ------------------------------------------------------------------ conditional orders

    def _run_triggers(self, events: list[Event], cmd: PlaceOrder) -> None:
        """The checks and cascade after a PlaceOrder (``matching.triggers``)."""
        market = self.after_order
        self.after_order = None
        if market is not None:
            run_after_order(self, market, events, cmd.command_id, cmd.ts, cmd.side is BUY)
        self.cond.fired = 0

    def _apply_after_backlog(self, cmd: Command) -> list[Event]:
        """Trigger the crossed orders a capped cascade left in the markets ``cmd`` addresses,
        then apply ``cmd``."""
        backlog = self.cond.backlog
        symbol = getattr(cmd, "symbol", None)
        if type(symbol) is str:
            addressed = [symbol] if symbol in backlog else []
        elif type(cmd) is Tick or type(cmd) is CancelAll:
            addressed = list(backlog)
        else:
            addressed = []
        events: list[Event] = []
        command_id = str(getattr(cmd, "command_id", ""))
        ts = int(getattr(cmd, "ts", 0) or 0)
        for name in addressed:
            market = self.markets_by_symbol.get(name)
            if market is None or market.halted:
                continue
            rise_first = backlog.pop(name)
            run_after_order(self, market, events, command_id, ts, rise_first)
        # then the command itself, as usual, its triggers counted with these (one command
        # triggers at most the cap); the markets still waiting are set aside meanwhile, and a
        # cap the command hits again wins
        waiting = dict(backlog)
        backlog.clear()
        events.extend(self.apply(cmd))
        self.cond.fired = 0
        for name, rise_first in waiting.items():
            backlog.setdefault(name, rise_first)
        return events

    # ------------------------------------------------------------------ read views

    def depth(self, symbol: str, limit: int) -> Depth:
        """Top ``limit`` levels per side; an unknown market has an empty depth, update id 0."""
        market = self.markets_by_symbol.get(symbol)
        if market is None:
            return Depth(symbol, 0, [], [])
        bids, asks = market.book.depth(max(0, limit))
        return Depth(symbol, market.update_id, bids, asks)

    def balance(self, account: int, asset: str) -> tuple[int, int]:
        """``(available, locked)`` atoms."""
        return self.balances_book.peek(account, asset)

    def balances(self, account: int) -> dict[str, tuple[int, int]]:
        return self.balances_book.of(account)

    def order(self, order_id: int) -> OrderView | None:
        """An open order (resting, or untriggered), or None."""
        order = self.open_orders_by_id.get(order_id)
        if order is not None:
            return _view(order)
        cond = self.cond.by_id.get(order_id)
        return None if cond is None else _untriggered_view(cond)

    def open_orders(self, account: int, symbol: str | None = None) -> list[OrderView]:
        """The account's open orders in the order they were accepted (resting), then its
        untriggered orders in the order they were accepted."""
        views = [
            _view(order)
            for order in self.open_by_account.get(account, {}).values()
            if symbol is None or order.symbol == symbol
        ]
        untriggered = self.cond.by_account.get(account)
        if untriggered:
            views += [
                _untriggered_view(cond)
                for cond in untriggered.values()
                if symbol is None or cond.symbol == symbol
            ]
        return views

    def market(self, symbol: str) -> MarketSpec | None:
        market = self.markets_by_symbol.get(symbol)
        return None if market is None else market.spec

    def markets(self) -> list[MarketSpec]:
        return [market.spec for market in self.markets_by_symbol.values()]

    def next_expiry_ns(self) -> int | None:
        """When (ns) the earliest open GTD order is due: a ``Tick`` with a ``ts`` at or after it
        expires it. None: no open GTD order. The matcher logs the Tick (pipeline/worker.py)."""
        return next_expiry_ns(self)

    def state_hash(self) -> str:
        """sha256 hex of the canonical snapshot (``matching.snapshot.dump``)."""
        from matching.snapshot import dump  # snapshot imports this module

        blob = json.dumps(dump(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    # ------------------------------------------------------------------ invariants

    def validate(self) -> None:
        """Check every invariant; raise :class:`EngineInvariantError` on the first broken one."""
        resting = 0
        expected_locked: dict[tuple[int, str], int] = {}
        for symbol, market in self.markets_by_symbol.items():
            if market.spec.symbol != symbol or market.units.symbol != symbol:
                raise EngineInvariantError(f"{symbol}: market key mismatch")
            resting += market.book.validate()
            units = market.units
            for is_buy in (True, False):
                for level in market.book.levels(is_buy):
                    for order in level.orders():
                        if self.open_orders_by_id.get(order.order_id) is not order:
                            raise EngineInvariantError(f"order {order.order_id} not indexed")
                        if order.symbol != symbol:
                            raise EngineInvariantError(f"order {order.order_id} in wrong book")
                        key = (order.account, units.quote if is_buy else units.base)
                        expected_locked[key] = expected_locked.get(key, 0) + order_hold(
                            units, is_buy, order.price, order.quantity - order.filled
                        )
        if resting != len(self.open_orders_by_id):
            raise EngineInvariantError("id index holds orders that are not in a book")
        by_account = sum(len(orders) for orders in self.open_by_account.values())
        if by_account != resting:
            raise EngineInvariantError("account index differs from the books")
        for account, orders in self.open_by_account.items():
            for order_id, order in orders.items():
                if order.account != account or self.open_orders_by_id.get(order_id) is not order:
                    raise EngineInvariantError(f"account index wrong for order {order_id}")
                if order.order_id not in self.used_order_ids:
                    raise EngineInvariantError(f"order {order_id} id not recorded")
                if order.client_order_id is not None and (
                    self.open_by_client_id.get(account, {}).get(order.client_order_id) is not order
                    or order.client_order_id not in self.used_client_ids.get(account, set())
                ):
                    raise EngineInvariantError(f"client id index wrong for order {order_id}")
        if sum(len(orders) for orders in self.open_by_client_id.values()) != sum(
            1 for order in self.open_orders_by_id.values() if order.client_order_id is not None
        ):
            raise EngineInvariantError("client id index holds stale entries")
        validate_conditionals(self, expected_locked)
        balances = self.balances_book
        for transfer in balances.transfers.values():
            if transfer.state == PENDING:
                key = (transfer.account, transfer.asset)
                expected_locked[key] = expected_locked.get(key, 0) + transfer.amount + transfer.fee
        totals: dict[str, int] = {}
        for account, asset, bal in balances.items():
            if bal.available < 0 or bal.locked < 0:
                raise EngineInvariantError(f"negative balance {account} {asset}")
            if bal.locked != expected_locked.pop((account, asset), 0):
                raise EngineInvariantError(f"locked {account} {asset} != what orders hold")
            totals[asset] = totals.get(asset, 0) + bal.available + bal.locked
        if any(expected_locked.values()):
            raise EngineInvariantError(f"holds without balance: {expected_locked}")
        for asset in set(totals) | set(balances.deposited):
            net = balances.deposited.get(asset, 0) - balances.withdrawn.get(asset, 0)
            if totals.get(asset, 0) != net:
                raise EngineInvariantError(f"{asset}: balances {totals.get(asset)} != net {net}")
        check_expiries(self)
        for market in self.markets_by_symbol.values():
            book = market.book
            if book.best_bid != NO_BID and book.best_ask != NO_ASK:
                if book.best_bid >= book.best_ask:
                    raise EngineInvariantError(f"{market.spec.symbol}: crossed")


def _view(order: Order) -> OrderView:
    return OrderView(
        order.order_id,
        order.account,
        order.symbol,
        order.side,
        order.price,
        order.quantity,
        order.filled,
        order.filled_quote,
        order.quantity - order.filled,
        order.client_order_id,
        order.display or None,
        order.expire_time or None,
    )


def _untriggered_view(cond: Conditional) -> OrderView:
    return OrderView(
        cond.order_id,
        cond.account,
        cond.symbol,
        cond.side,
        cond.price or 0,
        cond.quantity or 0,
        0,
        0,
        cond.quantity or 0,
        cond.client_order_id,
        untriggered=True,
        stop_price=cond.stop_price,
    )
