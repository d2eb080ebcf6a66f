"""AddMarket, UpdateMarket and SetMarketStatus: list a market, change it, halt or resume it.

Decided semantics (see ``matching.engine`` for the rest of the contract): a market's spec must
compile into exact integer units (``matching.arith.compile_market``) and an asset's decimals
must agree across markets, else ``invalid_market_spec``; a symbol is listed once
(``market_exists``). UpdateMarket changes fees, minimum notional or status and keeps base and
quote; tick and lot only while the book is empty (``market_not_empty``). A halted market refuses
PlaceOrder and AmendOrder (``market_halted``) and allows cancels.
"""

from __future__ import annotations

from dataclasses import replace

from matching.arith import InvalidMarketSpec, MarketUnits, compile_market
from matching.commands import AddMarket, SetMarketStatus, UpdateMarket
from matching.emit import market_added, market_status_changed, market_updated
from matching.errors import RejectReason
from matching.events import Event
from matching.state import EngineState, Market
from matching.types import MarketSpec, MarketStatus


def add_market(engine: EngineState, command: AddMarket) -> list[Event]:
    spec = command.spec
    if isinstance(spec, MarketSpec) and spec.symbol in engine.markets_by_symbol:
        return engine.rejected(command, RejectReason.MARKET_EXISTS)
    units = _compile(engine, spec, None)
    if units is None:
        return engine.rejected(command, RejectReason.INVALID_MARKET_SPEC)
    engine.markets_by_symbol[spec.symbol] = Market(spec, units)
    engine.seq += 1
    return [market_added(seq=engine.seq, command_id=command.command_id, ts=command.ts, spec=spec)]


def update_market(engine: EngineState, command: UpdateMarket) -> list[Event]:
    spec = command.spec
    market = engine.markets_by_symbol.get(spec.symbol) if isinstance(spec, MarketSpec) else None
    if market is None:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    units = _compile(engine, spec, spec.symbol)
    if units is None or spec.base != market.spec.base or spec.quote != market.spec.quote:
        return engine.rejected(command, RejectReason.INVALID_MARKET_SPEC)
    # untriggered orders hold prices in ticks too (matching.untriggered)
    if (len(market.book) or market.triggers is not None) and (
        units.lot_atoms != market.units.lot_atoms or units.tick_atoms != market.units.tick_atoms
    ):
        return engine.rejected(command, RejectReason.MARKET_NOT_EMPTY)
    market.spec = spec
    market.units = units
    market.halted = spec.status is MarketStatus.HALTED
    engine.seq += 1
    return [market_updated(seq=engine.seq, command_id=command.command_id, ts=command.ts, spec=spec)]


def set_market_status(engine: EngineState, command: SetMarketStatus) -> list[Event]:
    market = engine.markets_by_symbol.get(command.symbol)
    if market is None:
        return engine.rejected(command, RejectReason.UNKNOWN_MARKET)
    # typed object: a command is checked, not trusted (mypyc also fails on code that mypy deems
    # unreachable, as a check of the declared type would be)
    status: object = command.status
    if not isinstance(status, MarketStatus):
        return engine.rejected(command, RejectReason.INVALID_COMMAND)
    market.spec = replace(market.spec, status=status)
    market.halted = status is MarketStatus.HALTED
    engine.seq += 1
    return [
        market_status_changed(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            symbol=command.symbol,
            status=status,
        )
    ]


def _compile(engine: EngineState, spec: object, symbol: str | None) -> MarketUnits | None:
    """Compile a spec, also refusing an asset whose decimals differ across markets (but the
    market ``symbol`` being updated)."""
    if not isinstance(spec, MarketSpec) or not isinstance(spec.status, MarketStatus):
        return None
    try:
        units = compile_market(spec)
    except InvalidMarketSpec:
        return None
    for other in engine.markets_by_symbol.values():
        if other.spec.symbol == symbol:
            continue
        for asset in (spec.base, spec.quote):
            for other_asset in (other.spec.base, other.spec.quote):
                if asset.code == other_asset.code and asset.decimals != other_asset.decimals:
                    return None
    return units
