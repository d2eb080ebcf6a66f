"""GTD and icebergs on conditional orders: an untriggered GTD order expires at its tick without
ever entering the book; the order a stop becomes keeps its expiry and its iceberg slices."""

from __future__ import annotations

import json

from matching import snapshot
from matching.commands import Command
from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import OrderAccepted, OrderExpired, OrderTriggered
from matching.types import OrderType, Side, TimeInForce
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    CAROL,
    LOT,
    SYM,
    USD,
    conditional,
    kinds,
    limit,
    market,
    moves,
    new_engine,
    only,
    run,
    tick,
)

BUY, SELL = Side.BUY, Side.SELL
GTD = TimeInForce.GTD
STOP_LIMIT = OrderType.STOP_LIMIT
STOP_MARKET = OrderType.STOP_MARKET
MS = 1_000_000  # ns


def _engine_that_traded_at_100() -> MatchingEngine:
    engine = new_engine(
        *[(a, BTC, 1_000 * LOT) for a in (ALICE, BOB, CAROL)],
        *[(a, USD, 10_000_000) for a in (ALICE, BOB, CAROL)],
    )
    run(engine, limit(900, BOB, SELL, 100, 1))
    run(engine, market(901, CAROL, BUY, 1))
    return engine


def test_untriggered_gtd_stop_expires_at_its_exact_tick_and_releases_its_hold() -> None:
    # given ALICE's GTD stop-limit sell (stop 95, limit 94, expires at 5 ms), waiting
    engine = _engine_that_traded_at_100()
    cmd = conditional(1, ALICE, SELL, STOP_LIMIT, 95, 3, 94, tif=GTD)._replace(expire_time=5)
    accepted = run(engine, cmd)
    assert only(accepted, OrderAccepted)[0].expire_time == 5
    assert engine.next_expiry_ns() == 5 * MS
    # when the clock ticks one ns before its expiry, nothing happens
    assert run(engine, tick(5 * MS - 1)) == []
    view = engine.order(1)
    assert view is not None and view.untriggered
    # when it ticks at exactly 5 ms, it expires untriggered and its base comes back
    events = run(engine, tick(5 * MS))
    assert kinds(events) == ["OrderExpired", "BalanceChanged"]
    assert only(events, OrderExpired)[0].reason is EndReason.GTD_EXPIRED
    assert moves(events) == [(ALICE, BTC, 3 * LOT, -3 * LOT, "release")]
    assert engine.order(1) is None and engine.balance(ALICE, BTC) == (1_000 * LOT, 0)
    assert engine.next_expiry_ns() is None
    engine.validate()


def test_triggered_gtd_stop_limit_rests_and_then_expires_at_its_tick() -> None:
    # given ALICE's GTD stop-limit buy (stop 105, limit 106, 4 lots, expires at 9 ms)
    engine = _engine_that_traded_at_100()
    cmd = conditional(1, ALICE, BUY, STOP_LIMIT, 105, 4, 106, tif=GTD)._replace(expire_time=9)
    run(engine, cmd)
    # when a trade at 105 triggers it and nothing is offered at 106 or below
    run(engine, limit(2, BOB, SELL, 105, 1))
    events = run(engine, market(3, CAROL, BUY, 1))
    assert [e.order_id for e in only(events, OrderTriggered)] == [1]
    # then it rests as a GTD limit buy at 106
    assert engine.depth(SYM, 5).bids == [(106, 4)]
    view = engine.order(1)
    assert view is not None and not view.untriggered and view.expire_time == 9
    # and its tick expires it out of the book
    events = run(engine, tick(9 * MS))
    assert only(events, OrderExpired)[0].reason is EndReason.GTD_EXPIRED
    assert engine.depth(SYM, 5).bids == []
    assert engine.balance(ALICE, USD) == (10_000_000, 0)
    engine.validate()


def test_triggered_iceberg_stop_limit_shows_only_its_slice_when_it_rests() -> None:
    # given ALICE's iceberg stop-limit sell: stop 95, limit 96, 10 lots shown 2 at a time
    engine = _engine_that_traded_at_100()
    cmd = conditional(1, ALICE, SELL, STOP_LIMIT, 95, 10, 96)._replace(iceberg_quantity=2)
    assert only(run(engine, cmd), OrderAccepted)[0].iceberg_quantity == 2
    # when a trade at 95 triggers it
    run(engine, limit(2, BOB, BUY, 95, 2))
    events = run(engine, market(3, CAROL, SELL, 1))
    assert [e.order_id for e in only(events, OrderTriggered)] == [1]
    # then the book shows 2 of its 10 lots at 96, and a buyer of 5 gets 5 through refills
    assert engine.depth(SYM, 5).asks == [(96, 2)]
    run(engine, limit(4, BOB, BUY, 96, 5))
    view = engine.order(1)
    assert view is not None and view.remaining == 5
    assert engine.depth(SYM, 5).asks == [(96, 1)]
    engine.validate()


def test_snapshot_keeps_an_untriggered_gtd_iceberg_stop_and_replays_the_same() -> None:
    # given a waiting GTD iceberg stop-limit
    engine = _engine_that_traded_at_100()
    cmd = conditional(1, ALICE, SELL, STOP_LIMIT, 95, 10, 96, tif=GTD)._replace(
        iceberg_quantity=2, expire_time=50
    )
    run(engine, cmd)
    # when the engine is restored from its snapshot
    restored = snapshot.load(json.loads(json.dumps(snapshot.dump(engine))))
    assert restored.state_hash() == engine.state_hash()
    # then the same commands give the same events on both: trigger, rest as an iceberg, expire
    rest: list[Command] = [limit(2, BOB, BUY, 95, 2), market(3, CAROL, SELL, 1), tick(50 * MS)]
    for later in rest:
        assert run(engine, later) == run(restored, later)
        assert restored.state_hash() == engine.state_hash()
    assert engine.order(1) is None


def test_untriggered_gtd_stop_market_expires_when_never_triggered() -> None:
    engine = _engine_that_traded_at_100()
    cmd = conditional(1, ALICE, BUY, STOP_MARKET, 110, quote=5_000, tif=GTD)._replace(expire_time=3)
    run(engine, cmd)
    events = run(engine, tick(3 * MS))
    assert only(events, OrderExpired)[0].reason is EndReason.GTD_EXPIRED
    assert engine.balance(ALICE, USD) == (10_000_000, 0)
    engine.validate()
