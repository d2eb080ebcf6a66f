"""Engine-wide behaviour: seq, read views, unknown commands, validate()."""

from __future__ import annotations

import pytest

from matching.engine import MatchingEngine, OrderView
from matching.errors import EngineInvariantError, RejectReason
from matching.events import CommandRejected
from matching.types import Side
from tests.matching import streams
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    FEE_ACCOUNT,
    LOT,
    SYM,
    USD,
    add_market,
    limit,
    new_engine,
    run,
)  # fmt: skip


def test_seq_grows_by_one_per_event_when_commands_are_applied() -> None:
    engine = MatchingEngine(FEE_ACCOUNT)
    seqs = []
    for cmd in [add_market(), *streams.funding(), *streams.seeded_orders(1, 300, accounts=4)]:
        seqs += [e.seq for e in engine.apply(cmd)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert engine.seq == seqs[-1]


def test_order_views_describe_open_orders_when_queried() -> None:
    engine = new_engine((ALICE, USD, 10_000), (BOB, BTC, LOT))
    run(engine, limit(1, ALICE, Side.BUY, 100, 3, client_order_id="a"))
    run(engine, limit(2, ALICE, Side.BUY, 99, 2))
    run(engine, limit(3, BOB, Side.SELL, 100, 1))
    view = OrderView(1, ALICE, SYM, Side.BUY, 100, 3, 1, 100, 2, "a")
    assert engine.order(1) == view
    assert engine.open_orders(ALICE) == [view, engine.order(2)]
    assert engine.open_orders(ALICE, "OTHER") == []
    assert engine.open_orders(BOB) == [] and engine.order(3) is None
    assert engine.balances(ALICE) == {
        USD: (10_000 - 100 - 200 - 198, 200 + 198),
        BTC: (LOT - 1_000, 0),
    }  # fmt: skip  (maker fee 0.1 %)


def test_depth_is_empty_when_market_is_unknown() -> None:
    assert new_engine().depth("NOPE", 5) == ("NOPE", 0, [], [])


def test_unknown_command_is_rejected_not_raised_when_applied() -> None:
    engine = new_engine()
    events = engine.apply(("not", "a", "command"))  # type: ignore[arg-type]
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason is RejectReason.INVALID_COMMAND


def test_validate_raises_when_balances_are_tampered_with() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, Side.BUY, 100, 3))
    engine.balances_book.get(ALICE, USD).locked += 1
    with pytest.raises(EngineInvariantError):
        engine.validate()


def test_validate_raises_when_an_index_is_stale() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, Side.BUY, 100, 3))
    del engine.open_orders_by_id[1]
    with pytest.raises(EngineInvariantError):
        engine.validate()
