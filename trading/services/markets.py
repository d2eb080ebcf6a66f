"""Operators' market services: list a market, change its sizes and fees, halt and resume it,
and clear a shard's persistence halt.

The engine owns markets: a market exists, trades at given sizes and fees, or is halted because
the matcher applied a command saying so. The Market row is the persister's projection of those
commands' events (MarketAdded, MarketUpdated, MarketStatusChanged: trading/projections.py), so
an operator's change is sent first and reaches the row only once the matcher has applied it.
A change the matcher refuses leaves nothing to undo; one it has not answered yet is durable in
its log and reaches the row when applied; a web process that dies in between leaves the two in
agreement. (Saving the row first would leave it wrong in each of those cases, and the next
matcher start would then push the wrong row to the engine.) Every process reads the row
within MARKET_SPEC_CACHE_TTL_S (trading/specs.py), which a change waits out before it is
reported done. ``market_upsert`` writes rows directly, for a venue that has no matcher yet
(seed_demo, tests): the matcher adds those markets when it starts (Matcher.sync_markets).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.exceptions import ValidationError

from accounts.models import Asset
from common.amounts import plain
from common.errors import Unavailable, ValidationFailed
from matching.commands import AddMarket, Command, SetMarketStatus, UpdateMarket
from matching.errors import RejectReason
from matching.types import MarketSpec
from matching.types import MarketStatus as EngineMarketStatus
from pipeline.barrier import await_recorded
from pipeline.client import matcher, new_command_id, now_ns
from trading.models import OPEN_STATUSES, EventCheckpoint, Market, MarketStatus, Order, Trade
from trading.orders import rejection
from trading.services.validation import shard_of
from trading.specs import market_spec, rules_drain_s, units_drain_s

# Who "sent" operator commands (halt / resume) for the read-your-writes barrier; no user has 0.
SYSTEM_WRITER = 0


def market_upsert(
    symbol: str,
    *,
    base: Asset,
    quote: Asset,
    tick_size: Decimal,
    lot_size: Decimal,
    min_notional: Decimal,
    maker_fee_rate: Decimal,
    taker_fee_rate: Decimal,
) -> Market:
    """Create a market's row (trading) or update its spec; the status is left alone on update.

    The row only: for setting up a venue before its matchers run, which add the market when
    they start. A running venue changes markets with ``market_add`` and ``market_change``."""
    market = Market.objects.filter(symbol=symbol).first() or Market(symbol=symbol)
    market.base, market.quote = base, quote
    market.tick_size, market.lot_size, market.min_notional = tick_size, lot_size, min_notional
    market.maker_fee_rate, market.taker_fee_rate = maker_fee_rate, taker_fee_rate
    _validate_market(market)
    market.save()
    return market


@dataclass(frozen=True, slots=True)
class MarketChanged:
    """What an operator's change did, for the admin to say."""

    market: Market
    changes: tuple[str, ...]  # "maker fee rate 0.001 -> 0.0005", ...
    halted_for_s: float = 0.0  # a tick or lot size change halts trading while caches drain

    def describe(self) -> str:
        if not self.changes:
            return f"{self.market.symbol}: nothing to change."
        text = f"{self.market.symbol} changed: {'; '.join(self.changes)}."
        if self.halted_for_s:
            text += (
                f" Trading was halted for {self.halted_for_s:.1f} s while every server took the"
                " new sizes, and has resumed."
            )
        elif self.market.status == MarketStatus.HALTED:
            text += " The market is halted, as it was: resume it to trade."
        return text + " In force from the next order."


def _validate_market(market: Market) -> None:
    try:
        market.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid market {market.symbol}.",
            code="invalid_market_spec",
            details=exc.message_dict,
        ) from exc
    for asset in (market.base, market.quote):
        if not asset.is_active:
            raise ValidationFailed(
                f"The asset {asset.code} is not active: activate it first.",
                code="invalid_market_spec",
            )


def _refusal(symbol: str, reason: str) -> str:
    """The matcher's refusal of a market command, in the operator's words."""
    if reason == RejectReason.MARKET_NOT_EMPTY:
        return (
            f"The matcher refused: orders rest on the {symbol} book{_resting(symbol)}, and its"
            " tick size and lot size can change only while the book is empty. Nothing was"
            " changed. Halt the market, let its orders be cancelled or filled, then try again."
        )
    if reason == RejectReason.INVALID_MARKET_SPEC:
        return (
            f"The matcher refused the spec of {symbol} as invalid (tick size x lot size must be"
            " a whole number of quote atoms, fee rates below 1, and an asset's decimals the same"
            " in every market). Nothing was changed."
        )
    if reason == RejectReason.MARKET_EXISTS:
        return (
            f"The matcher already has a market {symbol} (its row may be on its way from the"
            " persister): reload the market list."
        )
    if reason == RejectReason.UNKNOWN_MARKET:
        return (
            f"The matcher does not have {symbol} yet (its addition may still be queued)."
            " Nothing was changed."
        )
    return f"The matcher refused the change of {symbol}: {reason.replace('_', ' ')}."


def _resting(symbol: str) -> str:
    """ " (N open)": the orders on the book as recorded once the refused command is (and so
    every order placed before it); empty if the persister is too far behind to say."""
    try:
        await_recorded(SYSTEM_WRITER)
    except Unavailable:
        return ""
    count = Order.objects.filter(market__symbol=symbol, status__in=OPEN_STATUSES).count()
    return f" ({count} open)"


def _market_command(symbol: str, cmd: Command) -> None:
    """Send an operator's market command and wait for the matcher's answer; a refusal raises
    with the reason in words (the engine's code as the error's code)."""
    sent = matcher().send(shard_of(symbol), cmd, user=SYSTEM_WRITER)
    if sent.events is None:
        raise Unavailable(
            f"The matcher for {symbol} did not answer; the change is queued in its command log"
            " and applies when it runs (the market list shows it then).",
            code="matcher_unavailable",
        )
    reason = rejection(sent.events, -1)
    if reason is not None:
        raise ValidationFailed(_refusal(symbol, reason), code=reason)


def _await_row(symbol: str, attempts: int = 1) -> Market:
    """The market's row once the persister has recorded the operators' last command (halts and
    changes are all sent as SYSTEM_WRITER), and so everything the matcher applied before it;
    trying ``attempts`` times READ_YOUR_WRITES_TIMEOUT."""
    for attempt in range(attempts):
        try:
            await_recorded(SYSTEM_WRITER)
            break
        except Unavailable as exc:
            if exc.code != "writes_not_persisted":
                raise
            if attempt + 1 == attempts:
                raise Unavailable(
                    f"The matcher applied the change of {symbol}, but the persister has not"
                    " recorded it yet (it is behind or down): the market list shows it once it"
                    " has.",
                    code="writes_not_persisted",
                    retry_after=1,
                ) from None
    return Market.objects.select_related("base", "quote").get(symbol=symbol)


def market_add(
    symbol: str,
    *,
    base: Asset,
    quote: Asset,
    tick_size: Decimal,
    lot_size: Decimal,
    min_notional: Decimal,
    maker_fee_rate: Decimal,
    taker_fee_rate: Decimal,
) -> Market:
    """List a new market on a running venue: validate, have its matcher add it, and return its
    row once the persister has written it. Tradable from the next order on, in every process
    (a market not listed yet is never cached)."""
    market = Market(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick_size,
        lot_size=lot_size,
        min_notional=min_notional,
        maker_fee_rate=maker_fee_rate,
        taker_fee_rate=taker_fee_rate,
        status=MarketStatus.TRADING,
    )
    _validate_market(market)
    _market_command(symbol, AddMarket(new_command_id(), now_ns(), market_spec(market)))
    return _await_row(symbol)


def market_change(
    market: Market,
    *,
    tick_size: Decimal,
    lot_size: Decimal,
    min_notional: Decimal,
    maker_fee_rate: Decimal,
    taker_fee_rate: Decimal,
) -> MarketChanged:
    """Change a listed market's sizes, minimum notional or fees through its matcher.

    Fees are the engine's alone: in force from the next order once applied. A minimum notional
    is also checked by every web process before it sends an order, so the change is reported
    done once they have all read it (``rules_drain_s``). Tick and lot size convert prices and
    quantities into the engine's integers in every process: see ``_change_units``."""
    # The row as of the operators' last command: its status is the engine's (a trade applied
    # but not recorded yet is caught after the update, ``_change_units``).
    market = _await_row(market.symbol)
    proposed = Market.objects.select_related("base", "quote").get(pk=market.pk)  # unsaved
    proposed.tick_size, proposed.lot_size, proposed.min_notional = tick_size, lot_size, min_notional
    proposed.maker_fee_rate, proposed.taker_fee_rate = maker_fee_rate, taker_fee_rate
    _validate_market(proposed)
    old, new = market_spec(market), market_spec(proposed)
    changes = _spec_changes(old, new)
    if not changes:
        return MarketChanged(market, ())
    if (new.tick_size, new.lot_size) != (old.tick_size, old.lot_size):
        return _change_units(market, old, new, changes)
    _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), new))
    market = _await_row(market.symbol)
    if new.min_notional != old.min_notional:
        time.sleep(rules_drain_s())
    return MarketChanged(market, changes)


def _change_units(
    market: Market, old: MarketSpec, new: MarketSpec, changes: tuple[str, ...]
) -> MarketChanged:
    """A tick or lot size change, which the engine accepts only while the book is empty.

    Every web process converts an order's price and quantity with the sizes it has cached,
    for up to a TTL after the row changed: an order converted with the old sizes and matched
    with the new ones would trade at a wrong price. So the change halts the market in the same
    command (UpdateMarket with status halted: refused, it changes nothing), waits until no
    process can still send such an order (``units_drain_s``), then resumes it if it was
    trading. Orders meanwhile are refused ``market_halted``.

    A market that has traded keeps its sizes: its trades, candles and the publisher's state
    are in them (list a new market instead)."""
    if Trade.objects.filter(market=market).exists():
        raise ValidationFailed(_traded(market.symbol), code="market_has_traded")
    was_trading = old.status is EngineMarketStatus.TRADING
    halted = replace(new, status=EngineMarketStatus.HALTED)
    _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), halted))
    started = time.monotonic()
    try:
        # Longer than a read may wait: resuming before the new sizes are in the row is unsafe.
        _await_row(market.symbol, attempts=10)
    except Unavailable as exc:
        raise Unavailable(
            f"{exc.message} {market.symbol} stays halted: resume it once the market list shows"
            f" the new sizes, and no sooner than {math.ceil(units_drain_s())} s after.",
            code=exc.code,
            retry_after=exc.retry_after,
        ) from None
    if Trade.objects.filter(market=market).exists():
        # A trade the matcher applied between the check above and the change: put the sizes
        # back (the market has been halted since, so nothing traded at the new ones).
        restore = replace(old, status=EngineMarketStatus.HALTED)
        _market_command(market.symbol, UpdateMarket(new_command_id(), now_ns(), restore))
        _await_row(market.symbol, attempts=10)
        if was_trading:
            market_set_status(market, MarketStatus.TRADING)
        raise ValidationFailed(_traded(market.symbol), code="market_has_traded")
    time.sleep(units_drain_s())
    if was_trading:
        market = market_set_status(market, MarketStatus.TRADING)
    else:
        market.refresh_from_db()
    return MarketChanged(market, changes, time.monotonic() - started if was_trading else 0.0)


def _traded(symbol: str) -> str:
    return (
        f"{symbol} has traded: its tick size and lot size cannot change any more (its trades"
        " and candles are in them). List a new market with the new sizes instead. Nothing was"
        " changed."
    )


_SPEC_FIELDS = (
    ("tick_size", "tick size"),
    ("lot_size", "lot size"),
    ("min_notional", "minimum notional"),
    ("maker_fee_rate", "maker fee rate"),
    ("taker_fee_rate", "taker fee rate"),
)


def _spec_changes(old: MarketSpec, new: MarketSpec) -> tuple[str, ...]:
    return tuple(
        f"{label} {plain(getattr(old, name))} -> {plain(getattr(new, name))}"
        for name, label in _SPEC_FIELDS
        if getattr(old, name) != getattr(new, name)
    )


def market_set_status(market: Market, status: str) -> Market:
    """Halt or resume trading: a command to the market's matcher, which owns market state.

    Applied, it holds from the next order on (the engine refuses orders in a halted market,
    ``market_halted``; cancels still work). The persister then writes Market.status from the
    engine's event; this waits for it, so the caller (the admin) sees the new status. No answer
    from the matcher: 503, and the command stays queued (it applies when the matcher runs).
    Applied but the persister behind past the read-your-writes timeout: 503
    ``writes_not_persisted`` (the engine has the new status).
    """
    if status not in MarketStatus.values:
        raise ValidationFailed(f"Unknown market status {status!r}.", code="invalid_status")
    cmd = SetMarketStatus(new_command_id(), now_ns(), market.symbol, EngineMarketStatus(status))
    _market_command(market.symbol, cmd)
    await_recorded(SYSTEM_WRITER, own_only=True)  # 503 writes_not_persisted if it is behind
    market.refresh_from_db(fields=["status"])
    return market


def persistence_retry(checkpoint: EventCheckpoint) -> EventCheckpoint:
    """Clear a shard's persistence halt (pipeline/persister.py): its persister tries the halted
    event again within a second, and halts again, with the new error, if it still fails.
    ``python manage.py resume_persister`` does the same after trying the event itself first."""
    if checkpoint.halted_at is None:
        raise ValidationFailed(f"Persistence of {checkpoint.stream} is not halted.")
    EventCheckpoint.objects.filter(pk=checkpoint.pk).update(
        halted_at=None, halted_seq=None, halted_entry="", halt_reason=""
    )
    checkpoint.refresh_from_db()
    return checkpoint
