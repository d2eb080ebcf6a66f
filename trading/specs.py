"""Market rows -> the engine's MarketSpec, the one bridge between the two descriptions."""

from __future__ import annotations

import time
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from django.conf import settings

from matching.arith import fixed
from matching.types import AssetSpec, MarketSpec
from matching.types import MarketStatus as EngineMarketStatus
from trading.models import Market


def market_spec(market: Market) -> MarketSpec:
    return MarketSpec(
        symbol=market.symbol,
        base=AssetSpec(market.base.code, market.base.decimals),
        quote=AssetSpec(market.quote.code, market.quote.decimals),
        tick_size=market.tick_size.normalize(),
        lot_size=market.lot_size.normalize(),
        min_notional=market.min_notional.normalize(),
        maker_fee_rate=market.maker_fee_rate.normalize(),
        taker_fee_rate=market.taker_fee_rate.normalize(),
        status=EngineMarketStatus(market.status),
    )


def market_specs() -> list[MarketSpec]:
    return [market_spec(m) for m in Market.objects.select_related("base", "quote")]


class MarketEntry(NamedTuple):
    """One market as a process read it: what ``cached_market`` returns, and when it was read."""

    value: tuple[int, MarketSpec, int, int]  # (market id, spec, base asset id, quote asset id)
    read_at: float  # time.monotonic() of the read
    ttl_s: float

    @property
    def fresh(self) -> bool:
        """Still to be used for lookups."""
        return time.monotonic() < self.read_at + self.ttl_s

    @property
    def sendable(self) -> bool:
        """A command built from this entry may still be sent (``units_drain_s``)."""
        return time.monotonic() < self.read_at + 2 * self.ttl_s


class MarketCache:
    """Per process: symbol -> (market id, spec, base asset id, quote asset id), for unit
    conversions in hot paths, each entry read from the Market row and trusted for
    ``MARKET_SPEC_CACHE_TTL_S`` (1 s). A market nobody has listed yet is not remembered, so a
    new one is found on the next request.

    An operator's change reaches the row through the persister (trading.services.market_change),
    then every process within the TTL. The web processes have nothing faster to learn it from
    without a round trip per order, so the change waits it out: a tick or lot size change
    keeps the market halted until no process can still send a command converted with the old
    sizes (``units_drain_s``; an order checks ``MarketEntry.sendable`` just before sending), and
    a minimum notional change is reported done once every process has read it (``rules_drain_s``).
    The persister and the publisher, which read the matcher's events in order, forget an entry
    at the event that changed it (``forget``), so their next event uses the new spec.
    """

    def __init__(self) -> None:
        self._entries: dict[str, MarketEntry] = {}

    def __call__(self, symbol: str) -> tuple[int, MarketSpec, int, int]:
        return self.entry(symbol).value

    def entry(self, symbol: str) -> MarketEntry:
        """The entry of ``symbol``, read again once stale; Market.DoesNotExist if unlisted."""
        found = self._entries.get(symbol)
        if found is not None and found.fresh:
            return found
        market = Market.objects.select_related("base", "quote").get(symbol=symbol)
        found = MarketEntry(
            (market.pk, market_spec(market), market.base_id, market.quote_id),
            time.monotonic(),
            settings.MARKET_SPEC_CACHE_TTL_S,
        )
        self._entries[symbol] = found
        return found

    def forget(self, symbol: str) -> None:
        self._entries.pop(symbol, None)

    def cache_clear(self) -> None:
        """Tests recreate markets with new ids; production never does."""
        self._entries.clear()


cached_market = MarketCache()

# How long past an operator's change a process can still act on what it read before it.
SEND_MARGIN_S = 0.5  # from an order's last check (``sendable``) to its command in the log


def units_drain_s() -> float:
    """After the new tick or lot size is in the row: until no process sends a command it
    converted with the old ones (an entry is read at most one TTL before the row changed,
    and sendable for two TTLs after its read)."""
    return 2 * settings.MARKET_SPEC_CACHE_TTL_S + SEND_MARGIN_S


def rules_drain_s() -> float:
    """After a new minimum notional is in the row: until every process checks orders by it."""
    return float(settings.MARKET_SPEC_CACHE_TTL_S) + 0.1


class Scales(NamedTuple):
    """Engine integers -> the decimal text the persister writes for one market (integer
    arithmetic only, ``matching.arith.fixed``).

    The persister converts several numbers per event; through ``Decimal`` objects that the
    driver formats again, that was a sixth of its CPU. The text is the Decimal of
    ``matching.arith``, digit for digit and place for place (tests/trading/test_specs.py).
    """

    tick_units: int  # tick_size * 10**price_places
    price_places: int
    lot_units: int  # lot_size * 10**qty_places
    qty_places: int
    quote_places: int

    def price(self, ticks: int) -> str:
        return fixed(ticks * self.tick_units, self.price_places)

    def quantity(self, lots: int) -> str:
        return fixed(lots * self.lot_units, self.qty_places)

    def quote(self, atoms: int) -> str:
        return fixed(atoms, self.quote_places)


def unit_scale(unit: Decimal) -> tuple[int, int]:
    """``(units, places)`` with ``unit == units * 10**-places``: ``places`` are the unit's
    decimal places as written (0.010 has 3), ``units`` a whole number."""
    exponent = unit.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return int(unit.scaleb(places)), places


def scales_of(spec: MarketSpec) -> Scales:
    tick_units, price_places = unit_scale(spec.tick_size)
    lot_units, qty_places = unit_scale(spec.lot_size)
    return Scales(tick_units, price_places, lot_units, qty_places, spec.quote.decimals)


def cached_scales(symbol: str) -> Scales:
    """The scales of ``cached_market(symbol)``'s spec: keyed by the spec itself, so they can
    never disagree with it (a test that clears ``cached_market`` clears these too)."""
    return _scales_of_spec(cached_market(symbol)[1])


_scales_of_spec = cache(scales_of)
