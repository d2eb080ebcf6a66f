"""The persister's integer conversions write exactly matching.arith's Decimals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from matching.arith import atoms_to_amount, lots_to_quantity, ticks_to_price
from matching.types import AssetSpec, MarketSpec
from trading.specs import scales_of

UNITS = ["0.01", "0.05", "0.5", "1", "5", "1E+1", "0.00000001", "0.25"]


@given(
    tick=st.sampled_from(UNITS),
    lot=st.sampled_from(UNITS),
    n=st.integers(min_value=0, max_value=10**30),
)
def test_prices_quantities_and_quote_amounts_are_the_same_decimals_when_written(tick, lot, n):
    spec = MarketSpec(
        "X_Y",
        AssetSpec("X", 18),
        AssetSpec("Y", 6),
        Decimal(tick),
        Decimal(lot),
        Decimal(0),
        Decimal(0),
        Decimal(0),
    )
    scales = scales_of(spec)
    for fast, exact in (
        (scales.price(n), ticks_to_price(spec, n)),
        (scales.quantity(n), lots_to_quantity(spec, n)),
        (scales.quote(n), atoms_to_amount(6, n)),
    ):
        assert Decimal(fast) == exact
        assert Decimal(fast).as_tuple() == exact.as_tuple()  # same digits and exponent
