"""AddMarket, UpdateMarket, SetMarketStatus."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from matching.engine import MatchingEngine
from matching.errors import RejectReason
from matching.events import (
    CommandRejected,
    Event,
    MarketAdded,
    MarketStatusChanged,
    MarketUpdated,
    TradeExecuted,
)
from matching.types import AssetSpec, MarketStatus, Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    FEE_ACCOUNT,
    LOT,
    SPEC,
    SYM,
    USD,
    add_market,
    cancel,
    kinds,
    limit,
    new_engine,
    only,
    run,
    set_status,
    update_market,
)  # fmt: skip


def _reason(events: list[Event]) -> RejectReason:
    return only(events, CommandRejected)[0].reason


def test_add_market_registers_spec_when_spec_is_valid() -> None:
    engine = MatchingEngine(FEE_ACCOUNT)
    events = run(engine, add_market())
    assert only(events, MarketAdded)[0].spec == SPEC
    assert engine.market(SYM) == SPEC and engine.markets() == [SPEC]
    assert engine.depth(SYM, 5) == (SYM, 0, [], [])


def test_add_market_is_refused_when_symbol_exists_or_spec_is_inexact() -> None:
    engine = new_engine()
    assert _reason(run(engine, add_market())) is RejectReason.MARKET_EXISTS
    bad = replace(SPEC, symbol="X", tick_size=Decimal("0.001"))  # finer than a cent
    assert _reason(run(engine, add_market(bad))) is RejectReason.INVALID_MARKET_SPEC
    clash = replace(SPEC, symbol="Y", base=AssetSpec("BTC", 6))  # BTC has 8 decimals here
    assert _reason(run(engine, add_market(clash))) is RejectReason.INVALID_MARKET_SPEC
    assert engine.market("X") is None and engine.market("Y") is None


def test_update_market_changes_fees_when_book_is_not_empty() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, Side.BUY, 100, 2))
    cheaper = replace(SPEC, taker_fee_rate=Decimal("0.0005"))
    events = run(engine, update_market(cheaper))
    assert only(events, MarketUpdated)[0].spec == cheaper
    assert engine.market(SYM) == cheaper


def test_trades_use_the_new_fee_rates_when_fees_were_updated_on_a_non_empty_book() -> None:
    # the fill loop works from per-market constants derived from the units: an update must
    # reach them (given: a resting buy; when: fees change, then a sell takes it)
    engine = new_engine((ALICE, USD, 100_000), (BOB, BTC, 10 * LOT))
    run(engine, limit(1, ALICE, Side.BUY, 1_000, 5))
    new_fees = replace(SPEC, maker_fee_rate=Decimal("0.004"), taker_fee_rate=Decimal("0.003"))
    run(engine, update_market(new_fees))
    trade = only(run(engine, limit(2, BOB, Side.SELL, 1_000, 5)), TradeExecuted)[0]
    # the buyer (maker) pays 0.4 % of 5 lots in BTC, the seller (taker) 0.3 % of 5,000 cents
    assert (trade.maker_fee, trade.maker_fee_asset) == (5 * LOT * 4 // 1000, BTC)
    assert (trade.taker_fee, trade.taker_fee_asset) == (15, USD)
    engine.validate()


def test_update_market_is_refused_when_tick_changes_on_a_non_empty_book() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    run(engine, limit(1, ALICE, Side.BUY, 100, 2))
    finer = replace(SPEC, tick_size=Decimal("0.5"), lot_size=Decimal("0.02"))
    assert _reason(run(engine, update_market(finer))) is RejectReason.MARKET_NOT_EMPTY
    run(engine, cancel(ALICE, 1))
    assert kinds(run(engine, update_market(finer))) == ["MarketUpdated"]


def test_update_market_is_refused_when_market_unknown_or_assets_change() -> None:
    engine = new_engine()
    assert _reason(run(engine, update_market(replace(SPEC, symbol="Z")))) is (
        RejectReason.UNKNOWN_MARKET
    )
    other_quote = replace(SPEC, quote=AssetSpec("EUR", 2))
    assert _reason(run(engine, update_market(other_quote))) is RejectReason.INVALID_MARKET_SPEC


def test_halted_market_refuses_orders_and_resumes_when_status_changes_back() -> None:
    engine = new_engine((ALICE, USD, 1_000))
    events = run(engine, set_status(MarketStatus.HALTED))
    assert only(events, MarketStatusChanged)[0].status is MarketStatus.HALTED
    assert engine.market(SYM).status is MarketStatus.HALTED  # type: ignore[union-attr]
    rejected = run(engine, limit(1, ALICE, Side.BUY, 100, 2))
    assert rejected[0].reason is RejectReason.MARKET_HALTED  # type: ignore[union-attr]
    run(engine, set_status(MarketStatus.TRADING))
    assert kinds(run(engine, limit(1, ALICE, Side.BUY, 100, 2)))[0] == "OrderAccepted"


def test_set_status_is_refused_when_market_is_unknown() -> None:
    engine = new_engine()
    assert _reason(run(engine, set_status(MarketStatus.HALTED, "NOPE"))) is (
        RejectReason.UNKNOWN_MARKET
    )


def test_market_added_halted_refuses_orders_when_spec_says_halted() -> None:
    engine = MatchingEngine(FEE_ACCOUNT)
    run(engine, add_market(replace(SPEC, status=MarketStatus.HALTED)))
    events = run(engine, limit(1, ALICE, Side.BUY, 100, 2))
    assert events[0].reason is RejectReason.MARKET_HALTED  # type: ignore[union-attr]
