"""The publisher's integer formatting writes exactly what the exact Decimal conversion writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.formatting import Fmt, amount
from matching.arith import atoms_to_amount, fixed, lots_to_quantity, ticks_to_price
from matching.types import AssetSpec, MarketSpec

UNITS = ["0.01", "0.05", "0.5", "1", "5", "10", "0.00000001", "0.0010", "2.5"]


def spec(tick: str, lot: str) -> MarketSpec:
    return MarketSpec(
        "X_Y",
        AssetSpec("X", 18),
        AssetSpec("Y", 8),
        Decimal(tick),
        Decimal(lot),
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
    )


def test_fixed_writes_every_decimal_place_and_the_sign():
    assert fixed(12345, 2) == "123.45"
    assert fixed(5, 3) == "0.005"
    assert fixed(-5, 3) == "-0.005"
    assert fixed(0, 2) == "0.00"
    assert fixed(7, 0) == "7"


@given(
    tick=st.sampled_from(UNITS),
    lot=st.sampled_from(UNITS),
    n=st.integers(min_value=0, max_value=10**30),
)
def test_prices_and_quantities_match_the_exact_conversion(tick, lot, n):
    market = spec(tick, lot)
    fmt = Fmt.of(market)
    assert fmt.ticks(n) == format(ticks_to_price(market, n), f".{fmt.price_places}f")
    assert fmt.lots(n) == format(lots_to_quantity(market, n), f".{fmt.qty_places}f")
    assert fmt.quote_atoms(n) == format(atoms_to_amount(8, n), ".8f")


@given(decimals=st.integers(min_value=0, max_value=18), atoms=st.integers(-(10**30), 10**30))
def test_amounts_match_the_exact_conversion(decimals, atoms):
    assert amount(decimals, atoms) == format(atoms_to_amount(decimals, atoms), f".{decimals}f")


@pytest.mark.parametrize("tick", ["0.010", "10"])
def test_trailing_zeros_and_whole_ticks(tick):
    fmt = Fmt.of(spec(tick, "1"))
    assert fmt.ticks(3) == format(ticks_to_price(spec(tick, "1"), 3), f".{fmt.price_places}f")
