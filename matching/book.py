"""One market's order book.

Book layout
-----------
* Each side maps ``price ticks -> Level`` in a plain dict, plus a plain sorted ``list`` of its
  prices with the **best price last** (bids ascending; asks stored negated, so also ascending).
  A book has a few hundred levels, most activity is near the best price, and ``bisect.insort``
  / ``del`` on a list are C-level memmoves of the entries *better* than the price touched: a
  new or emptied level near the top moves a handful of pointers, and emptying the best level
  (what matching does) is a ``pop()``. Adding and removing a level costs 100-220 ns this way
  against 650-690 ns with a ``SortedList`` (measured, see
  ``docs/performance.md``); a level far from the best on a book with very many levels costs
  a longer memmove (about 1 ns per level behind it), still no Python-level work.
* The best price of each side is cached in ``best_bid`` / ``best_ask``; an empty side holds
  the sentinel ``NO_BID`` (0) or ``NO_ASK`` (``MAX_PRICE_TICKS + 1``), so "does a buy at p
  cross?" is the single comparison ``p >= best_ask``, with no None checks.
* A level is an intrusive doubly linked FIFO of :class:`Order` objects (``prev``/``next``
  slots) with a cached ``total`` of the lots it shows: append, unlink and pop-front are O(1).
* An iceberg order (``display`` > 0, docs/order-types.md "Iceberg orders") shows only its
  ``visible`` slice, ``min(display, remaining)`` when it was (re)queued and less as it fills:
  ``total`` and the depth count that slice, the holds its whole remaining. When the slice is
  filled and quantity remains, :meth:`Book.fill` gives it a new slice and moves it to the back
  of its level. An ordinary order has ``display`` 0 and its ``visible`` is unused; the hot path
  pays one ``if order.display`` test for this, in ``fill`` and in the fill loop.

Ordering invariant
------------------
Within a level orders are in arrival (time-priority) order; across levels the best price is
first. An order keeps its place when its quantity is reduced and goes to the back of its
(new) level when its price changes or its quantity grows, and an iceberg when it is refilled.
The book is never left crossed: ``best_bid < best_ask`` after every command (the engine matches
before it rests).

The fill loop lives in ``matching.fills`` (it settles balances and emits events as it walks);
this module owns the structure, the operations on it (append, remove, reduce, fill) and its
``validate()``. Every operation keeps each level's ``total`` equal to the sum of what its orders
show (:func:`shown`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator

from matching.arith import MAX_PRICE_TICKS
from matching.errors import EngineInvariantError
from matching.types import Side, StpMode

NO_BID = 0
NO_ASK = MAX_PRICE_TICKS + 1


class Order:
    """A resting (or, while it matches, incoming) order. Amounts in ticks / lots / atoms."""

    __slots__ = (
        "account",
        "client_order_id",
        "display",
        "expire_time",
        "filled",
        "filled_quote",
        "next",
        "order_id",
        "prev",
        "price",
        "quantity",
        "side",
        "stp_mode",
        "symbol",
        "visible",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        symbol: str,
        side: Side,
        price: int,
        quantity: int,
        filled: int,
        filled_quote: int,
        client_order_id: str | None,
        stp_mode: StpMode,
        display: int = 0,
        expire_time: int = 0,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.price = price
        self.quantity = quantity
        self.filled = filled
        self.filled_quote = filled_quote
        self.client_order_id = client_order_id
        self.stp_mode = stp_mode
        # An iceberg's slice size (its iceberg_quantity); 0: an ordinary order, which shows all
        # it has left. ``visible``: what an iceberg shows now (set when it is queued).
        self.display = display
        self.visible = 0
        # A GTD order's expire time, unix ms (0: not GTD): matching.expiry indexes it.
        self.expire_time = expire_time
        self.prev: Order | None = None
        self.next: Order | None = None


def new_slice(order: Order) -> None:
    """Give an iceberg a fresh visible slice, ``min(display, remaining)``, before it is queued."""
    remaining = order.quantity - order.filled
    order.visible = order.display if order.display < remaining else remaining


def shown(order: Order) -> int:
    """The lots ``order`` contributes to its level's ``total`` (and to the depth)."""
    return order.visible if order.display else order.quantity - order.filled


class Level:
    """All resting orders at one price of one side, FIFO."""

    __slots__ = ("head", "price", "tail", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.head: Order | None = None
        self.tail: Order | None = None
        self.total = 0

    def orders(self) -> Iterator[Order]:
        order = self.head
        while order is not None:
            yield order
            order = order.next


class Book:
    """Bids and asks of one market."""

    __slots__ = ("ask_prices", "asks", "best_ask", "best_bid", "bid_prices", "bids", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self.bid_prices: list[int] = []  # ascending: [-1] is the best bid
        self.ask_prices: list[int] = []  # negated, ascending: -[-1] is the best ask
        self.best_bid = NO_BID
        self.best_ask = NO_ASK

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def append(self, order: Order, is_buy: bool) -> Level:
        """Put ``order`` at the back of its price level (creating the level if needed).

        An iceberg shows the ``visible`` it has (:func:`new_slice` gives a fresh one)."""
        price = order.price
        level = (self.bids if is_buy else self.asks).get(price)
        if level is None:
            level = self.add_level(price, is_buy)
        tail = level.tail
        order.prev = tail
        order.next = None
        if tail is None:
            level.head = order
        else:
            tail.next = order
        level.tail = order
        level.total += order.visible if order.display else order.quantity - order.filled
        return level

    def remove(self, order: Order, is_buy: bool) -> Level:
        """Take a resting order out of the book; return its level (``total`` 0: it is gone)."""
        level = (self.bids if is_buy else self.asks)[order.price]
        level.total -= order.visible if order.display else order.quantity - order.filled
        self.unlink(order, level)
        return level

    def reduce(self, order: Order, is_buy: bool, quantity: int) -> None:
        """Lower a resting order's (total) quantity in place: it keeps its time priority (an
        iceberg's visible slice is trimmed to what it has left)."""
        level = (self.bids if is_buy else self.asks)[order.price]
        if order.display:
            left = quantity - order.filled
            if order.visible > left:
                level.total -= order.visible - left
                order.visible = left
        else:
            level.total -= order.quantity - quantity
        order.quantity = quantity

    def fill(self, level: Level, order: Order, lots: int) -> bool:
        """``lots`` of ``order``, resting in ``level``, were traded. True when that completes
        the order, which then leaves the book."""
        order.filled += lots
        level.total -= lots
        if order.display:  # an iceberg: ``lots`` came out of its visible slice
            return self.fill_iceberg(level, order, lots)
        if order.filled < order.quantity:
            return False
        self.unlink(order, level)
        return True

    def fill_iceberg(self, level: Level, order: Order, lots: int) -> bool:
        """The rest of :meth:`fill` for an iceberg (``level.total`` is already lowered): when
        its slice is used up and quantity remains, a new slice at the back of the level."""
        order.visible -= lots
        if order.filled == order.quantity:
            self.unlink(order, level)
            return True
        if not order.visible:
            new_slice(order)
            level.total += order.visible
            tail = level.tail
            if tail is not order and tail is not None:  # to the back (the level keeps it)
                prev, nxt = order.prev, order.next
                if prev is None:
                    level.head = nxt
                else:
                    prev.next = nxt
                if nxt is not None:
                    nxt.prev = prev
                order.prev = tail
                order.next = None
                tail.next = order
                level.tail = order
        return False

    def add_level(self, price: int, is_buy: bool) -> Level:
        """A new, empty level at ``price`` (which has none yet); updates the best price."""
        level = Level(price)
        if is_buy:
            self.bids[price] = level
            insort(self.bid_prices, price)
            if price > self.best_bid:
                self.best_bid = price
        else:
            self.asks[price] = level
            insort(self.ask_prices, -price)
            if price < self.best_ask:
                self.best_ask = price
        return level

    def unlink(self, order: Order, level: Level) -> None:
        """Take ``order`` out of ``level``'s FIFO; drop the level when it empties.

        The caller has already subtracted what the order contributed to ``level.total``.
        """
        prev, nxt = order.prev, order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = None
        if level.head is None:
            self.drop_level(level.price, order.side is Side.BUY)

    def drop_level(self, price: int, is_buy: bool) -> None:
        if is_buy:
            del self.bids[price]
            prices = self.bid_prices
            if price == self.best_bid:
                prices.pop()
                self.best_bid = prices[-1] if prices else NO_BID
            else:
                del prices[bisect_left(prices, price)]
        else:
            del self.asks[price]
            prices = self.ask_prices
            if price == self.best_ask:
                prices.pop()
                self.best_ask = -prices[-1] if prices else NO_ASK
            else:
                del prices[bisect_left(prices, -price)]

    def depth(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Top ``limit`` levels per side as ``(price, total lots)``, best first."""
        bids = self.bids
        asks = self.asks
        bid_prices = self.bid_prices
        ask_prices = self.ask_prices  # negated
        top_bids = [
            (price, bids[price].total)
            for price in reversed(bid_prices[max(0, len(bid_prices) - limit) :])
        ]
        top_asks = [
            (-price, asks[-price].total)
            for price in reversed(ask_prices[max(0, len(ask_prices) - limit) :])
        ]
        return top_bids, top_asks

    def totals_at(self, prices: Iterable[int], is_buy: bool) -> tuple[tuple[int, int], ...]:
        """``(price, total lots)`` at each of ``prices`` on one side, best first (0: no level),
        as ``BookChanged`` carries the levels a command changed."""
        levels = self.bids if is_buy else self.asks
        return tuple(
            (price, level.total if (level := levels.get(price)) is not None else 0)
            for price in sorted(prices, reverse=is_buy)
        )

    def levels(self, is_buy: bool) -> Iterator[Level]:
        """Levels of one side, best first."""
        if is_buy:
            for p in reversed(self.bid_prices):
                yield self.bids[p]
        else:
            for p in reversed(self.ask_prices):
                yield self.asks[-p]

    def validate(self) -> int:
        """Check the book's invariants; return the number of resting orders."""
        count = 0
        for is_buy, levels, prices in (
            (True, self.bids, self.bid_prices),
            (False, self.asks, self.ask_prices),
        ):
            keys = sorted(levels, reverse=is_buy)
            listed = prices[::-1] if is_buy else [-p for p in reversed(prices)]
            if keys != listed:
                raise EngineInvariantError(f"{self.symbol}: price index differs from levels")
            best = keys[0] if keys else (NO_BID if is_buy else NO_ASK)
            if best != (self.best_bid if is_buy else self.best_ask):
                raise EngineInvariantError(f"{self.symbol}: cached best price is stale")
            side = Side.BUY if is_buy else Side.SELL
            for price, level in levels.items():
                if level.price != price or level.head is None:
                    raise EngineInvariantError(f"{self.symbol}: bad level {price}")
                total = 0
                prev: Order | None = None
                order: Order | None = level.head
                while order is not None:
                    if order.prev is not prev or order.price != price or order.side is not side:
                        raise EngineInvariantError(f"{self.symbol}: broken FIFO at {price}")
                    if not 0 <= order.filled < order.quantity:
                        raise EngineInvariantError(f"order {order.order_id}: bad fill state")
                    if order.display and not (
                        0 < order.visible <= min(order.display, order.quantity - order.filled)
                    ):
                        raise EngineInvariantError(f"order {order.order_id}: bad visible slice")
                    total += shown(order)
                    count += 1
                    prev, order = order, order.next
                if prev is not level.tail:
                    raise EngineInvariantError(f"{self.symbol}: level tail at {price}")
                if total != level.total:
                    raise EngineInvariantError(f"{self.symbol}: level total at {price}")
        if self.best_bid >= self.best_ask:
            raise EngineInvariantError(f"{self.symbol}: book crossed")
        return count
