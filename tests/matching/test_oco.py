"""OCO order lists: placement and its hold (the larger leg's, not the sum), the two legs'
interplay in both directions, cancels by list id, client list id and by either leg."""

from __future__ import annotations

import itertools

import pytest

from matching.commands import Command
from matching.engine import MatchingEngine
from matching.errors import EndReason, RejectReason
from matching.events import (
    BalanceChanged,
    CommandRejected,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderListAccepted,
    OrderListDone,
    OrderListRejected,
    OrderTriggered,
)
from matching.types import Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    DAVE,
    LOT,
    SYM,
    USD,
    amend,
    cancel,
    cancel_all,
    cancel_list,
    kinds,
    limit,
    market,
    new_engine,
    oco,
    only,
    run,
)

BUY, SELL = Side.BUY, Side.SELL
_ids = itertools.count(10_000)
CASH = 10_000_000


def funded() -> MatchingEngine:
    return new_engine(
        *[(a, BTC, 1_000 * LOT) for a in (ALICE, BOB, CAROL, DAVE)],
        *[(a, USD, CASH) for a in (ALICE, BOB, CAROL, DAVE)],
    )


def trade_at(engine: MatchingEngine, price: int, qty: int = 2) -> list[Event]:
    run(engine, limit(next(_ids), BOB, SELL, price, qty))
    return run(engine, market(next(_ids), CAROL, BUY, qty))


def causes(events: list[Event]) -> list[tuple[str, int, int, str]]:
    return [
        (e.cause, e.delta_available, e.delta_locked, e.reason.value)
        for e in only(events, BalanceChanged)
    ]


def test_a_buy_oco_holds_the_larger_legs_need_not_the_sum_when_accepted() -> None:
    # given a last price of 100
    engine = funded()
    trade_at(engine, 100)
    # when ALICE places a buy OCO of 5 lots: limit 95, stop 105 with a limit of 106
    events = run(engine, oco(1, ALICE, BUY, 5, 95, 105, 106, client_list_id="L"))
    # then: the list, the limit leg and its hold, the stop leg and only its extra hold
    assert kinds(events) == [
        "OrderListAccepted",
        "OrderAccepted",
        "BalanceChanged",
        "OrderAccepted",
        "BalanceChanged",
        "BookChanged",
    ]
    assert only(events, OrderListAccepted)[0].client_list_id == "L"
    assert [(e.order_id, e.list_id) for e in only(events, OrderAccepted)] == [(11, 1), (12, 1)]
    assert causes(events) == [("o:11", -475, 475, "hold"), ("o:12", -55, 55, "hold")]
    assert engine.balance(ALICE, USD) == (CASH - 530, 530)  # max(475, 530)
    assert engine.depth(SYM, 5).bids == [(95, 5)]
    view = engine.order(12)
    assert view is not None and view.untriggered


def test_a_sell_oco_holds_its_quantity_once_when_accepted() -> None:
    engine = funded()
    trade_at(engine, 100)
    events = run(engine, oco(1, ALICE, SELL, 5, 110, 95))
    assert causes(events) == [("o:11", -5 * LOT, 5 * LOT, "hold")]
    assert engine.balance(ALICE, BTC) == (995 * LOT, 5 * LOT)


def test_a_partial_fill_of_the_limit_leg_cancels_the_stop_leg_in_the_same_command() -> None:
    # given ALICE's buy OCO (limit 95, stop 105 / 106) of 5 lots
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, BUY, 5, 95, 105, 106))
    # when DAVE sells 2 lots into the limit leg
    events = run(engine, market(30, DAVE, SELL, 2))
    # then the stop leg is cancelled (order_list) and its extra hold released; the list goes on
    cancelled = only(events, OrderCancelled)
    assert [(e.order_id, e.reason) for e in cancelled] == [(12, EndReason.ORDER_LIST)]
    assert ("o:12", 55, -55, "release") in causes(events)
    assert only(events, OrderListDone) == []
    assert engine.balance(ALICE, USD)[1] == 95 * 3
    # when the rest of the limit leg fills
    events = run(engine, market(31, DAVE, SELL, 3))
    # then the list is done
    assert [e.order_id for e in only(events, OrderFilled)] == [11, 31]
    assert [e.list_id for e in only(events, OrderListDone)] == [1]
    assert engine.cond.lists == {}
    assert engine.market(SYM) is not None and engine.markets_by_symbol[SYM].triggers is None


def test_a_trigger_of_the_stop_leg_cancels_the_limit_leg_and_takes_its_full_hold() -> None:
    # given ALICE's buy OCO (limit 95, stop 105 / 106) of 5 lots and asks at 106
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, BUY, 5, 95, 105, 106))
    run(engine, limit(40, DAVE, SELL, 106, 10))
    # when a trade happens at 105
    events = trade_at(engine, 105)
    # then the stop leg triggers, the limit leg is cancelled (order_list), the stop leg takes
    # its full hold (g:), buys at 106 and the list is done
    assert [e.order_id for e in only(events, OrderTriggered)] == [12]
    assert [(e.order_id, e.reason) for e in only(events, OrderCancelled)] == [
        (11, EndReason.ORDER_LIST)
    ]
    assert ("o:11", 475, -475, "release") in causes(events)
    assert ("g:12", -475, 475, "hold") in causes(events)
    assert [e.order_id for e in only(events, OrderFilled)][-1] == 12
    assert [e.list_id for e in only(events, OrderListDone)] == [1]
    assert engine.balance(ALICE, USD) == (CASH - 530, 0)


def test_a_triggered_stop_leg_that_rests_keeps_the_list_executing_until_it_ends() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, SELL, 5, 110, 95, 94))
    events = trade_at(engine, 95)  # no bid at 94: the stop leg rests as a limit sell at 94
    assert [e.order_id for e in only(events, OrderTriggered)] == [12]
    assert only(events, OrderListDone) == []
    assert engine.depth(SYM, 5).asks == [(94, 5)]
    events = run(engine, market(50, DAVE, BUY, 5))
    assert [e.list_id for e in only(events, OrderListDone)] == [1]


@pytest.mark.parametrize("how", ["list_id", "client_list_id", "limit_leg", "stop_leg"])
def test_cancelling_the_list_or_either_leg_cancels_both_legs(how: str) -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, BUY, 5, 95, 105, client_list_id="L"))
    commands: dict[str, Command] = {
        "list_id": cancel_list(ALICE, 1),
        "client_list_id": cancel_list(ALICE, client_list_id="L"),
        "limit_leg": cancel(ALICE, 11),
        "stop_leg": cancel(ALICE, 12),
    }
    cmd = commands[how]
    events = run(engine, cmd)
    ended = {e.order_id: e.reason for e in only(events, OrderCancelled)}
    assert set(ended) == {11, 12}
    if how == "limit_leg":
        assert ended[12] is EndReason.ORDER_LIST
    if how == "stop_leg":
        assert ended[11] is EndReason.ORDER_LIST
    assert [e.list_id for e in only(events, OrderListDone)] == [1]
    assert engine.balance(ALICE, USD) == (CASH, 0)
    assert engine.depth(SYM, 5).bids == []
    # the ids stay used
    again = run(engine, oco(1, ALICE, BUY, 5, 95, 105, limit_order_id=71, stop_order_id=72))
    assert only(again, OrderListRejected)[0].reason is RejectReason.DUPLICATE_LIST_ID


def test_cancel_all_ends_the_list() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, SELL, 5, 110, 95))
    events = run(engine, cancel_all(ALICE))
    assert {e.order_id for e in only(events, OrderCancelled)} == {11, 12}
    assert [e.list_id for e in only(events, OrderListDone)] == [1]
    assert engine.balance(ALICE, BTC) == (1_000 * LOT, 0)


@pytest.mark.parametrize(
    ("cmd", "reason"),
    [
        (oco(2, ALICE, SELL, 5, 110, 95), RejectReason.DUPLICATE_LIST_ID),
        (oco(3, ALICE, SELL, 5, 110, 95, client_list_id="L"), "duplicate_client_list_id"),
        (oco(3, ALICE, SELL, 5, 90, 95), RejectReason.INVALID_ORDER_LIST),  # limit below stop
        (oco(3, ALICE, SELL, 5, 99, 95), RejectReason.INVALID_ORDER_LIST),  # limit below last
        (oco(3, ALICE, BUY, 5, 101, 105), RejectReason.INVALID_ORDER_LIST),  # limit above last
        (oco(3, ALICE, SELL, 5, 110, 100), RejectReason.WOULD_TRIGGER_IMMEDIATELY),
        (oco(3, ALICE, BUY, 5, 95, 100), RejectReason.WOULD_TRIGGER_IMMEDIATELY),
        (oco(3, ALICE, SELL, 5, 110, 95, limit_order_id=5, stop_order_id=5), "invalid_order_list"),
        (oco(3, ALICE, SELL, 5, 110, 95, limit_order_id=21), RejectReason.DUPLICATE_ORDER_ID),
        (oco(3, ALICE, SELL, 0, 110, 95), RejectReason.INVALID_QUANTITY),
        (oco(3, ALICE, SELL, 5, 110, 0), RejectReason.INVALID_STOP_PRICE),
        (oco(3, ALICE, SELL, 5_000 * 100, 110, 95), RejectReason.INSUFFICIENT_FUNDS),
        (oco(3, ALICE, SELL, 5, 110, 95, symbol="ETH-USD"), RejectReason.UNKNOWN_MARKET),
    ],
)
def test_an_oco_is_refused_without_side_effect_when_invalid(cmd, reason) -> None:
    # given a last price of 100 and ALICE's OCO 2 (client list id L, legs 21 and 22)
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(2, ALICE, SELL, 1, 120, 90, client_list_id="L"))
    hash_before = engine.state_hash()
    # when / then
    events = run(engine, cmd)
    assert kinds(events) == ["OrderListRejected"]
    assert only(events, OrderListRejected)[0].reason == reason
    seq_only = engine.state_hash()
    assert seq_only != hash_before  # the seq moved...
    assert engine.cond.lists.keys() == {2}  # ...and nothing else


def test_an_oco_whose_limit_leg_would_take_is_refused_post_only_would_take() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, limit(60, DAVE, BUY, 106, 2))  # a bid above the last price
    events = run(engine, oco(3, ALICE, SELL, 5, 105, 95))
    assert only(events, OrderListRejected)[0].reason is RejectReason.POST_ONLY_WOULD_TAKE


def test_cancel_of_an_unknown_list_is_refused_order_list_not_found() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, SELL, 5, 110, 95))
    for cmd in (cancel_list(ALICE, 9), cancel_list(BOB, 1), cancel_list(ALICE, client_list_id="x")):
        rejected = only(run(engine, cmd), CommandRejected)
        assert rejected[0].reason is RejectReason.ORDER_LIST_NOT_FOUND


def test_a_leg_cannot_be_amended() -> None:
    engine = funded()
    trade_at(engine, 100)
    run(engine, oco(1, ALICE, SELL, 5, 110, 95))
    for order_id in (11, 12):
        rejected = only(run(engine, amend(ALICE, order_id, qty=4)), CommandRejected)
        assert rejected[0].reason is RejectReason.ORDER_NOT_AMENDABLE
