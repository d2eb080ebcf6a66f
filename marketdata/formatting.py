"""Engine integers and stored Decimals -> the API's decimal strings, at the market's precision.

Prices carry the tick's decimal places, quantities the lot's, quote amounts the quote asset's.
``format(Decimal, ".Nf")`` is exact for on-grid values and never uses scientific notation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from matching.arith import atoms_to_amount, lots_to_quantity, ticks_to_price
from matching.types import MarketSpec


def _places(unit: Decimal) -> int:
    exponent = unit.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True)
class Fmt:
    """How one market's numbers are written."""

    spec: MarketSpec
    price_places: int
    qty_places: int
    quote_places: int

    @classmethod
    def of(cls, spec: MarketSpec) -> Fmt:
        return cls(spec, _places(spec.tick_size), _places(spec.lot_size), spec.quote.decimals)

    # engine integers
    def ticks(self, ticks: int) -> str:
        return format(ticks_to_price(self.spec, ticks), f".{self.price_places}f")

    def lots(self, lots: int) -> str:
        return format(lots_to_quantity(self.spec, lots), f".{self.qty_places}f")

    def quote_atoms(self, atoms: int) -> str:
        return format(atoms_to_amount(self.spec.quote.decimals, atoms), f".{self.quote_places}f")

    # stored Decimals (18 places in the database)
    def price(self, value: Decimal) -> str:
        return format(value, f".{self.price_places}f")

    def qty(self, value: Decimal) -> str:
        return format(value, f".{self.qty_places}f")

    def quote(self, value: Decimal) -> str:
        return format(value, f".{self.quote_places}f")


def amount(decimals: int, atoms: int) -> str:
    """An asset amount (balances, fees) with the asset's decimal places."""
    return format(atoms_to_amount(decimals, atoms), f".{decimals}f")
