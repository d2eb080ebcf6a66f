"""What the engine holds, and the steps its command handlers share.

:class:`EngineState` is everything a command can read or change: the event sequence number,
the markets (:class:`Market`), the balances, and the open-order indexes with the ids already
used. The handlers are functions of it, one module per concern (``matching.engine`` lists
them); ``MatchingEngine`` is this state plus the entry point, the read views and ``validate``.

Events are built by keyword through their builders in ``matching.emit``
(``order_filled(seq=..., ...)``): mypy checks every field by name, and the builder places the
fields once per event type (an order makes about six events).

Each handler counts ``seq`` in a local and stores it back in ``engine.seq`` before it returns
or calls a step below that emits events.
"""

from __future__ import annotations

from typing import Any, Final

from matching.arith import MarketUnits, order_hold
from matching.balances import Bal, Balances, balance_moved
from matching.book import Book, Order
from matching.commands import PlaceOrder
from matching.emit import book_changed, command_rejected, order_ended, order_rejected
from matching.errors import EndReason, RejectReason
from matching.events import (
    BookChanged,
    Event,
    OrderCancelled,
    OrderExpired,
)
from matching.types import BalanceReason, MarketSpec, MarketStatus, Side
from matching.untriggered import Conditionals, Triggers

BUY: Final = Side.BUY  # (enum members bound once: a global is a faster lookup)
HOLD: Final = BalanceReason.HOLD
RELEASE: Final = BalanceReason.RELEASE

Levels = tuple[tuple[int, int], ...]
"""``(price, total lots)`` per level, best first, as ``BookChanged`` carries them; 0: gone."""

Touched = dict[str, tuple[dict[int, None], dict[int, None]]]
"""Per market, the bid and ask prices a command took orders away at (a dict keeps them unique,
in order): what ``EngineState.books_changed`` reports."""


class Market:
    """One market: its spec, its integer units, its book and its counters."""

    __slots__ = (
        "book",
        "fee_balances",
        "halted",
        "last_price",
        "spec",
        "trade_id",
        "triggers",
        "units",
        "update_id",
    )

    def __init__(self, spec: MarketSpec, units: MarketUnits) -> None:
        self.spec = spec
        self.units = units
        self.book = Book(spec.symbol)
        self.trade_id = 0  # the last TradeExecuted's, per market
        self.update_id = 0  # the last BookChanged's, per market
        self.halted = spec.status is MarketStatus.HALTED
        # The fee account's (base, quote) balances, looked up by the first taker and kept:
        # every fill pays into them.
        self.fee_balances: tuple[Bal, Bal] | None = None
        # conditional orders (matching.untriggered): the last trade's price (0: no trade yet),
        # and the untriggered orders and list legs, None while the market has none (so a trade
        # costs one test when no conditional order waits)
        self.last_price = 0
        self.triggers: Triggers | None = None


class EngineState:
    """The state of one matcher: markets, balances, open orders, the event sequence."""

    def __init__(self, fee_account: int) -> None:
        self.fee_account = fee_account
        self.seq = 0  # the last event's
        self.markets_by_symbol: dict[str, Market] = {}
        self.balances_book = Balances()
        self.open_orders_by_id: dict[int, Order] = {}
        self.open_by_account: dict[int, dict[int, Order]] = {}  # in acceptance order
        self.open_by_client_id: dict[int, dict[str, Order]] = {}
        self.used_client_ids: dict[int, set[str]] = {}
        self.used_order_ids: set[int] = set()
        # GTD expiry index (matching.expiry): a heap of (expire_time ms, order_id), ended
        # orders' entries deleted lazily, compacted when it reaches ``expiries_compact_at``.
        self.expiries: list[tuple[int, int]] = []
        self.expiries_compact_at = 1024
        # conditional orders and order lists (matching.untriggered); ``after_order``: the market
        # whose triggers the engine runs once the current PlaceOrder is done
        self.cond = Conditionals()
        self.after_order: Market | None = None

    # ------------------------------------------------------------------ rejections

    def rejected(self, command: Any, reason: RejectReason) -> list[Event]:
        """``CommandRejected`` for any command with a ``command_id`` and a ``ts``."""
        self.seq += 1
        return [
            command_rejected(
                seq=self.seq,
                command_id=command.command_id,
                ts=command.ts,
                reason=reason,
            )
        ]

    def refuse_order(self, command: PlaceOrder, reason: RejectReason) -> list[Event]:
        """``OrderRejected`` for a PlaceOrder, repeating its fields so it can be recorded."""
        self.seq += 1
        return [
            order_rejected(
                seq=self.seq,
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

    # ------------------------------------------------------------------ open-order indexes

    def use_order_ids(self, order_id: int, account: int, client_order_id: str | None) -> None:
        """An accepted order's ids are used for good (a rejected order's are not)."""
        self.used_order_ids.add(order_id)
        if client_order_id is not None:
            used = self.used_client_ids.get(account)
            if used is None:
                used = self.used_client_ids[account] = set()
            used.add(client_order_id)

    def remember_order(self, order: Order) -> None:
        """Index an order that now rests in its book."""
        self.open_orders_by_id[order.order_id] = order
        by_account = self.open_by_account.get(order.account)
        if by_account is None:
            by_account = self.open_by_account[order.account] = {}
        by_account[order.order_id] = order
        if order.client_order_id is not None:
            by_client_id = self.open_by_client_id.get(order.account)
            if by_client_id is None:
                by_client_id = self.open_by_client_id[order.account] = {}
            by_client_id[order.client_order_id] = order

    def forget_order(self, order: Order) -> None:
        """Drop an order that left its book from the indexes (its ids stay used)."""
        del self.open_orders_by_id[order.order_id]
        del self.open_by_account[order.account][order.order_id]
        if order.client_order_id is not None:
            del self.open_by_client_id[order.account][order.client_order_id]

    def find_order(
        self, account: int, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        """The account's open order in ``symbol``, by order id or else by client order id."""
        if order_id is not None:
            order = self.open_orders_by_id.get(order_id)
        elif client_order_id is not None:
            order = self.open_by_client_id.get(account, {}).get(client_order_id)
        else:
            return None
        if order is None or order.account != account or order.symbol != symbol:
            return None
        return order

    # ------------------------------------------------------------------ steps that emit

    def end_resting(
        self,
        market: Market,
        order: Order,
        ending: type[OrderCancelled] | type[OrderExpired],
        reason: EndReason,
        events: list[Event],
        command_id: str,
        ts: int,
    ) -> int:
        """Take a resting order out of its book (cancelled or expired) and release its hold.

        Appends the order's end and its ``release``; returns its level's total afterwards
        (0: the level is gone).
        """
        is_buy = order.side is BUY
        remaining = order.quantity - order.filled
        level = market.book.remove(order, is_buy)
        self.forget_order(order)
        units = market.units
        asset = units.quote if is_buy else units.base
        hold = order_hold(units, is_buy, order.price, remaining)
        bal = self.balances_book.accounts[order.account][asset]  # it holds funds: it exists
        bal.locked -= hold
        bal.available += hold
        seq = self.seq
        events.append(
            order_ended(
                ending,
                seq=seq + 1,
                command_id=command_id,
                ts=ts,
                order_id=order.order_id,
                account=order.account,
                symbol=order.symbol,
                reason=reason,
                filled_quantity=order.filled,
                filled_quote=order.filled_quote,
            )
        )
        events.append(
            balance_moved(
                seq + 2,
                command_id,
                ts,
                f"o:{order.order_id}",
                order.account,
                asset,
                bal,
                available_by=hold,
                locked_by=-hold,
                reason=RELEASE,
            )
        )
        self.seq = seq + 2
        return level.total

    def move_held(
        self,
        account: int,
        asset: str,
        amount: int,
        cause: str,
        events: list[Event],
        command_id: str,
        ts: int,
    ) -> None:
        """Hold ``amount`` more of the account's ``asset`` (release it, if negative), with its
        ``BalanceMoved``."""
        bal = self.balances_book.get(account, asset)
        bal.available -= amount
        bal.locked += amount
        self.seq += 1
        events.append(
            balance_moved(
                self.seq,
                command_id,
                ts,
                cause,
                account,
                asset,
                bal,
                available_by=-amount,
                locked_by=amount,
                reason=HOLD if amount > 0 else RELEASE,
            )
        )

    def cancel_resting(
        self,
        market: Market,
        order: Order,
        reason: EndReason,
        events: list[Event],
        command_id: str,
        ts: int,
    ) -> None:
        """Cancel a resting order (``end_resting``) and report its level (one BookChanged)."""
        total = self.end_resting(market, order, OrderCancelled, reason, events, command_id, ts)
        level = ((order.price, total),)
        if order.side is BUY:
            events.append(self.book_changed(market, level, (), command_id, ts))
        else:
            events.append(self.book_changed(market, (), level, command_id, ts))

    def books_changed(
        self, touched: Touched, events: list[Event], command_id: str, ts: int
    ) -> None:
        """One ``BookChanged`` per market in ``touched`` (in the order they were first
        touched) with the levels now at the prices it lists."""
        for symbol, (bids, asks) in touched.items():
            market = self.markets_by_symbol[symbol]
            book = market.book
            events.append(
                self.book_changed(
                    market,
                    book.totals_at(bids, True),
                    book.totals_at(asks, False),
                    command_id,
                    ts,
                )
            )

    def book_changed(
        self,
        market: Market,
        bids: Levels,
        asks: Levels,
        command_id: str,
        ts: int,
    ) -> BookChanged:
        """The market's next ``BookChanged`` (takes the next ``update_id`` and ``seq``)."""
        market.update_id += 1
        self.seq += 1
        return book_changed(
            seq=self.seq,
            command_id=command_id,
            ts=ts,
            symbol=market.spec.symbol,
            update_id=market.update_id,
            bids=bids,
            asks=asks,
        )
