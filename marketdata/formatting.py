"""Engine integers and stored Decimals -> the API's decimal strings, at the market's precision.

Prices carry the tick's decimal places, quantities the lot's, quote amounts the quote asset's.
``format(Decimal, ".Nf")`` is exact for on-grid values and never uses scientific notation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from matching.arith import fixed
from matching.types import MarketSpec
from trading.specs import unit_scale


@dataclass(frozen=True, slots=True)
class Fmt:
    """How one market's numbers are written."""

    spec: MarketSpec
    price_places: int
    qty_places: int
    quote_places: int
    tick_units: int  # tick_size * 10**price_places
    lot_units: int  # lot_size * 10**qty_places

    @classmethod
    def of(cls, spec: MarketSpec) -> Fmt:
        # Written at the unit's significant places: a tick of 0.010 writes 2 decimals.
        tick_units, price_places = unit_scale(spec.tick_size.normalize())
        lot_units, qty_places = unit_scale(spec.lot_size.normalize())
        return cls(spec, price_places, qty_places, spec.quote.decimals, tick_units, lot_units)

    # engine integers
    def ticks(self, ticks: int) -> str:
        return fixed(ticks * self.tick_units, self.price_places)

    def lots(self, lots: int) -> str:
        return fixed(lots * self.lot_units, self.qty_places)

    def quote_atoms(self, atoms: int) -> str:
        return fixed(atoms, self.quote_places)

    # stored Decimals (18 places in the database)
    def price(self, value: Decimal) -> str:
        return format(value, f".{self.price_places}f")

    def qty(self, value: Decimal) -> str:
        return format(value, f".{self.qty_places}f")

    def quote(self, value: Decimal) -> str:
        return format(value, f".{self.quote_places}f")


def amount(decimals: int, atoms: int) -> str:
    """An asset amount (balances, fees) with the asset's decimal places."""
    return fixed(atoms, decimals)
