"""matching.book: levels, FIFO, cached best prices, validate()."""

from __future__ import annotations

import pytest

from matching.book import NO_ASK, NO_BID, Book, Order
from matching.errors import EngineInvariantError
from matching.types import Side, StpMode


def _order(oid: int, side: Side, price: int, qty: int) -> Order:
    return Order(oid, 1, "S", side, price, qty, 0, 0, None, StpMode.EXPIRE_TAKER)


def test_empty_book_has_sentinel_best_prices_when_created() -> None:
    book = Book("S")
    assert (book.best_bid, book.best_ask) == (NO_BID, NO_ASK)
    assert book.depth(5) == ([], [])
    assert book.validate() == 0


def test_levels_sort_best_first_and_aggregate_when_orders_are_added() -> None:
    book = Book("S")
    for oid, side, price, qty in [(1, Side.BUY, 99, 2), (2, Side.BUY, 100, 1),
                                  (3, Side.BUY, 99, 3), (4, Side.SELL, 102, 5),
                                  (5, Side.SELL, 101, 1)]:  # fmt: skip
        book.append(_order(oid, side, price, qty), side is Side.BUY)
    assert (book.best_bid, book.best_ask) == (100, 101)
    assert book.depth(5) == ([(100, 1), (99, 5)], [(101, 1), (102, 5)])
    assert book.depth(1) == ([(100, 1)], [(101, 1)])
    assert [o.order_id for o in book.bids[99].orders()] == [1, 3]
    assert book.validate() == 5


def test_unlink_keeps_fifo_and_drops_empty_level_when_orders_leave() -> None:
    book = Book("S")
    orders = [_order(i, Side.SELL, 101, 1) for i in (1, 2, 3)]
    for o in orders:
        book.append(o, False)
    book.append(_order(4, Side.SELL, 105, 1), False)
    level = book.asks[101]
    level.total -= 1
    book.unlink(orders[1], level)  # middle
    assert [o.order_id for o in level.orders()] == [1, 3]
    for o in (orders[0], orders[2]):
        level.total -= 1
        book.unlink(o, level)
    assert 101 not in book.asks and book.best_ask == 105
    assert book.validate() == 1


def test_validate_raises_when_a_level_total_is_wrong() -> None:
    book = Book("S")
    book.append(_order(1, Side.BUY, 100, 2), True)
    book.bids[100].total = 3
    with pytest.raises(EngineInvariantError):
        book.validate()


def test_validate_raises_when_book_is_crossed() -> None:
    book = Book("S")
    book.append(_order(1, Side.BUY, 101, 2), True)
    book.append(_order(2, Side.SELL, 100, 2), False)
    with pytest.raises(EngineInvariantError):
        book.validate()


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_price_index_stays_sorted_when_levels_come_and_go_anywhere(side: Side) -> None:
    # the price index is a plain sorted list with the best price last: emptying the best level
    # pops it, any other level is found by bisection; both must leave the index exact
    is_buy = side is Side.BUY
    book = Book("S")
    prices = [100, 97, 103, 99, 101, 98, 102]
    orders = {p: _order(p, side, p, 1) for p in prices}
    for p in prices:
        book.append(orders[p], is_buy)
    ranked = sorted(prices, reverse=is_buy)  # best first
    assert book.depth(3) == (([(p, 1) for p in ranked[:3]], []) if is_buy
                             else ([], [(p, 1) for p in ranked[:3]]))  # fmt: skip
    assert book.depth(0) == ([], [])
    for p in (ranked[3], ranked[0], ranked[-1], ranked[1]):  # middle, best, worst, new best
        level = (book.bids if is_buy else book.asks)[p]
        level.total -= 1
        book.unlink(orders[p], level)
        ranked.remove(p)
        assert [lv.price for lv in book.levels(is_buy)] == ranked
        assert (book.best_bid if is_buy else book.best_ask) == ranked[0]
        assert book.validate() == len(ranked)
    for p in list(ranked):
        level = (book.bids if is_buy else book.asks)[p]
        level.total -= 1
        book.unlink(orders[p], level)
    assert (book.best_bid, book.best_ask) == (NO_BID, NO_ASK)
    assert book.bid_prices == [] and book.ask_prices == []
    assert book.validate() == 0


def test_remove_takes_an_order_out_and_reports_its_level_total_when_resting() -> None:
    # given two sells at 101 and one at 102
    book = Book("S")
    first, second, other = (
        _order(1, Side.SELL, 101, 2),
        _order(2, Side.SELL, 101, 3),
        _order(3, Side.SELL, 102, 1),
    )
    for o in (first, second, other):
        book.append(o, False)

    # when the first one is removed, then the level keeps the other's lots
    assert book.remove(first, False).total == 3
    assert [o.order_id for o in book.asks[101].orders()] == [2]

    # when the level's last order is removed, then the level is gone and the best price moves
    assert book.remove(second, False).total == 0
    assert 101 not in book.asks and book.best_ask == 102
    assert book.validate() == 1


def test_reduce_keeps_time_priority_and_lowers_the_level_total_when_quantity_shrinks() -> None:
    book = Book("S")
    first, second = _order(1, Side.BUY, 100, 5), _order(2, Side.BUY, 100, 4)
    book.append(first, True)
    book.append(second, True)

    book.reduce(first, True, 2)

    assert first.quantity == 2 and book.bids[100].total == 6
    assert [o.order_id for o in book.bids[100].orders()] == [1, 2]
    assert book.validate() == 2


def test_fill_removes_the_order_only_when_it_is_complete() -> None:
    book = Book("S")
    maker = _order(1, Side.SELL, 101, 5)
    level = book.append(maker, False)

    assert book.fill(level, maker, 2) is False
    assert (maker.filled, level.total, book.best_ask) == (2, 3, 101)
    assert book.validate() == 1

    assert book.fill(level, maker, 3) is True
    assert (maker.filled, level.total, book.best_ask) == (5, 0, NO_ASK)
    assert book.validate() == 0


def test_totals_at_lists_levels_best_first_with_zero_for_gone_ones_when_asked() -> None:
    book = Book("S")
    for oid, side, price, qty in (
        (1, Side.BUY, 99, 2),
        (2, Side.BUY, 100, 1),
        (3, Side.SELL, 103, 4),
    ):
        book.append(_order(oid, side, price, qty), side is Side.BUY)

    assert book.totals_at([99, 98, 100], True) == ((100, 1), (99, 2), (98, 0))
    assert book.totals_at([104, 103], False) == ((103, 4), (104, 0))
