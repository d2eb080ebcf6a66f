"""matching.arith: exact conversions (table-driven), market compilation, the fee rounding rule."""

from __future__ import annotations

import decimal
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.arith import (
    BOUND,
    InvalidMarketSpec,
    OffGrid,
    amount_to_atoms,
    atoms_to_amount,
    compile_market,
    fee_atoms,
    fixed,
    lots_affordable,
    lots_to_quantity,
    notional_atoms,
    price_to_ticks,
    quantity_to_lots,
    ticks_to_price,
    trade_amounts,
)
from matching.types import AssetSpec, MarketSpec
from tests.matching.builders import SPEC

ETH_USDC = MarketSpec(
    symbol="ETH-USDC",
    base=AssetSpec("ETH", 18),
    quote=AssetSpec("USDC", 6),
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.0001"),
    min_notional=Decimal("5"),
    maker_fee_rate=Decimal("0.0002"),
    taker_fee_rate=Decimal("0.000875"),
)


def test_compile_market_gives_integer_factors_when_spec_is_exact() -> None:
    units = compile_market(ETH_USDC)
    assert units.lot_atoms == 10**14
    assert units.tick_atoms == 10_000
    assert units.notional_atoms_per_tick_lot == 1  # 0.01 * 0.0001 * 10**6
    assert units.min_notional_atoms == 5_000_000
    assert (units.maker_fee_ppm, units.taker_fee_ppm) == (200, 875)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"tick_size": Decimal("0.0000001")}, "tick finer than a quote atom"),
        ({"lot_size": Decimal("0.00001"), "tick_size": Decimal("0.01")}, "tick x lot < 1 atom"),
        ({"tick_size": Decimal("0")}, "zero tick"),
        ({"lot_size": Decimal("-1")}, "negative lot"),
        ({"lot_size": Decimal("NaN")}, "NaN lot"),
        ({"tick_size": Decimal("Infinity")}, "infinite tick"),
        ({"min_notional": Decimal("0.0000001")}, "min notional finer than an atom"),
        ({"min_notional": Decimal("0")}, "zero min notional"),
        ({"maker_fee_rate": Decimal("0.0000001")}, "more than 6 decimals"),
        ({"taker_fee_rate": Decimal("1")}, "rate of 100 %"),
        ({"taker_fee_rate": Decimal("-0.001")}, "negative rate"),
        ({"base": AssetSpec("USDC", 6)}, "base == quote"),
        ({"base": AssetSpec("ETH", -1)}, "negative decimals"),
        ({"symbol": ""}, "empty symbol"),
    ],
)
def test_compile_market_raises_invalid_market_spec_when_spec_is_not_exact(
    change: dict[str, object], why: str
) -> None:
    with pytest.raises(InvalidMarketSpec):
        compile_market(replace(ETH_USDC, **change))  # type: ignore[arg-type]


def test_compile_market_accepts_zero_fees_when_rates_are_zero() -> None:
    units = compile_market(replace(ETH_USDC, maker_fee_rate=Decimal(0), taker_fee_rate=Decimal(0)))
    assert (units.maker_fee_ppm, units.taker_fee_ppm) == (0, 0)


@pytest.mark.parametrize(
    ("text", "ticks"),
    [("1", 100), ("0.01", 1), ("27123.50", 2712350), ("27123.5", 2712350), ("1E+2", 10000)],
)
def test_price_to_ticks_is_exact_when_price_is_on_the_tick(text: str, ticks: int) -> None:
    assert price_to_ticks(ETH_USDC, Decimal(text)) == ticks


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0.001", "price_off_tick"),
        ("27123.505", "price_off_tick"),
        ("0", "non_positive"),
        ("-1", "non_positive"),
        ("NaN", "not_finite"),
        ("Infinity", "not_finite"),
        ("1E+100", "out_of_range"),
        ("1E-200", "price_off_tick"),
    ],
)
def test_price_to_ticks_raises_off_grid_with_code_when_not_representable(
    text: str, code: str
) -> None:
    with pytest.raises(OffGrid) as err:
        price_to_ticks(ETH_USDC, Decimal(text))
    assert err.value.code == code


@pytest.mark.parametrize(
    ("text", "lots", "code"),
    [
        ("1", 10_000, None),
        ("0.0001", 1, None),
        ("0.00015", None, "quantity_off_lot"),
        ("0", None, "non_positive"),
        ("-0.0001", None, "non_positive"),
        ("sNaN", None, "not_finite"),
    ],
)
def test_quantity_to_lots_when_given_table_inputs(
    text: str, lots: int | None, code: str | None
) -> None:
    if code is None:
        assert quantity_to_lots(ETH_USDC, Decimal(text)) == lots
    else:
        with pytest.raises(OffGrid) as err:
            quantity_to_lots(ETH_USDC, Decimal(text))
        assert err.value.code == code


@pytest.mark.parametrize(
    ("decimals", "text", "atoms", "code"),
    [
        (6, "1.5", 1_500_000, None),
        (6, "0.000001", 1, None),
        (6, "0.0000001", None, "amount_too_precise"),
        (0, "3", 3, None),
        (0, "3.5", None, "amount_too_precise"),
        (18, "1", 10**18, None),
        (2, "0", None, "non_positive"),
        (2, "-Infinity", None, "not_finite"),
    ],
)
def test_amount_to_atoms_when_given_table_inputs(
    decimals: int, text: str, atoms: int | None, code: str | None
) -> None:
    if code is None:
        assert amount_to_atoms(decimals, Decimal(text)) == atoms
    else:
        with pytest.raises(OffGrid) as err:
            amount_to_atoms(decimals, Decimal(text))
        assert err.value.code == code


def test_off_grid_is_a_value_error_when_caught_generically() -> None:
    assert issubclass(OffGrid, ValueError) and issubclass(InvalidMarketSpec, ValueError)


def test_inverse_conversions_are_exact_and_normalized_when_converting_back() -> None:
    assert str(ticks_to_price(ETH_USDC, 2712350)) == "27123.50"
    assert str(lots_to_quantity(ETH_USDC, 15)) == "0.0015"
    assert str(atoms_to_amount(6, 1_500_000)) == "1.500000"
    assert str(atoms_to_amount(0, 7)) == "7"
    assert str(ticks_to_price(SPEC, 27123)) == "27123"
    half = replace(ETH_USDC, tick_size=Decimal("0.5"))
    assert str(ticks_to_price(half, 3)) == "1.5"


def test_conversions_round_trip_when_value_is_on_grid() -> None:
    for ticks in (1, 7, 123456789, 2**61):
        assert price_to_ticks(ETH_USDC, ticks_to_price(ETH_USDC, ticks)) == ticks
    for lots in (1, 3, 10**12):
        assert quantity_to_lots(ETH_USDC, lots_to_quantity(ETH_USDC, lots)) == lots
    for atoms in (1, 999, 10**30):
        assert amount_to_atoms(18, atoms_to_amount(18, atoms)) == atoms


def test_conversions_never_touch_the_global_decimal_context_when_used() -> None:
    before = decimal.getcontext().copy()
    with decimal.localcontext() as ctx:
        ctx.prec = 3  # a hostile context must not change any result
        assert price_to_ticks(ETH_USDC, Decimal("27123.50")) == 2712350
        assert str(ticks_to_price(ETH_USDC, 2712350)) == "27123.50"
        assert amount_to_atoms(18, Decimal("1.234567891234567891")) == 1234567891234567891
    assert decimal.getcontext().prec == before.prec


@pytest.mark.parametrize(
    ("amount", "ppm", "fee"),
    [
        (0, 1000, 0),
        (1, 1000, 1),
        (999, 1000, 1),
        (1000, 1000, 1),
        (1001, 1000, 2),
        (1_000_000, 1000, 1000),
        (1_000_001, 1000, 1001),
        (5, 0, 0),
        (5, 999_999, 5),
        (1, 1, 1),
    ],
)
def test_fee_rounds_toward_the_venue_when_not_whole(amount: int, ppm: int, fee: int) -> None:
    assert fee_atoms(amount, ppm) == fee
    assert fee <= amount


def test_trade_amounts_charge_each_side_in_what_it_receives_when_taker_buys_or_sells() -> None:
    units = compile_market(SPEC)  # maker 1000 ppm, taker 2000 ppm, 1 lot = 10**6 BTC atoms
    assert notional_atoms(units, 100, 3) == 300
    # taker buys 3 lots at 100: buyer (taker) pays 0.2 % of base, seller (maker) 0.1 % of quote
    assert trade_amounts(units, 100, 3, True) == (300, 3_000_000, 6_000, 1)
    # taker sells: buyer is the maker (0.1 % of base), seller the taker (0.2 % of quote)
    assert trade_amounts(units, 100, 3, False) == (300, 3_000_000, 3_000, 1)


# --- against an exact reference -------------------------------------------------------------
# The conversions use integer ratios for speed; Fraction arithmetic is the obvious-by-reading
# definition they must agree with, digit for digit and exponent for exponent.

_units = st.sampled_from(
    [Decimal(t) for t in ("0.01", "0.010", "0.001", "0.5", "1", "5", "0.000001", "1E+1", "25")]
)
_values = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 80
) | st.builds(lambda n, e: Decimal(f"{n}E{e}"), st.integers(-(10**40), 10**40), st.integers(-40, 8))


def _reference_units(value: Decimal, unit: Decimal) -> int | None:
    if not value.is_finite() or value <= 0:
        return None
    ratio = Fraction(value) / Fraction(unit)
    return ratio.numerator if ratio.denominator == 1 else None


@settings(max_examples=500)
@given(_values, _units)
def test_to_units_agrees_with_fraction_arithmetic_when_given_any_decimal(
    value: Decimal, unit: Decimal
) -> None:
    spec = replace(SPEC, tick_size=unit)
    try:
        got: int | None = price_to_ticks(spec, value)
    except OffGrid as err:
        assert err.code in ("price_off_tick", "out_of_range", "non_positive", "not_finite")
        got = None
    expected = _reference_units(value, unit)
    if got is not None:
        assert got == expected
    elif expected is not None:
        # Refused although exact: only for the documented size limits (BOUND: issue 15's cap
        # on any price, quantity or amount, 10**19 units).
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        assert value.adjusted() > 60 or exponent < -100 or expected > 2**62 or value >= BOUND


@settings(max_examples=300)
@given(_units, st.integers(-(10**30), 10**30))
def test_multiples_agree_with_fraction_arithmetic_when_given_any_count(
    unit: Decimal, count: int
) -> None:
    spec = replace(SPEC, tick_size=unit, lot_size=unit)
    exponent = unit.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    scaled = Fraction(unit) * count * 10**places
    assert scaled.denominator == 1
    expected = Decimal(f"{scaled.numerator}E-{places}")
    for got in (ticks_to_price(spec, count), lots_to_quantity(spec, count)):
        assert got == expected
        assert got.as_tuple() == expected.as_tuple()


@given(units=st.integers(min_value=-(10**40), max_value=10**40), places=st.integers(0, 30))
def test_fixed_is_the_exact_decimal_with_its_places_when_written_as_text(units, places):
    text = fixed(units, places)
    exact = atoms_to_amount(places, units)
    assert Decimal(text) == exact
    assert Decimal(text).as_tuple().exponent == exact.as_tuple().exponent  # every place written
    assert "E" not in text and "e" not in text


def test_lots_affordable_counts_whole_lots_when_quote_is_short_of_the_next_one() -> None:
    # given BTC-USD, where one lot at one tick is one quote atom
    units = compile_market(SPEC)
    price = 100  # ticks: a lot costs 100 quote atoms

    # then whole lots only, and none when not even one is covered
    assert lots_affordable(units, price, 1_000) == 10
    assert lots_affordable(units, price, 1_099) == 10
    assert lots_affordable(units, price, 99) == 0
    assert lots_affordable(units, price, 10 * price) * notional_atoms(units, price, 1) == 1_000
