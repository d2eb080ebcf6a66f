"""All amount arithmetic of the venue: Decimal <-> integer units, notional, holds and fees.

Units inside the engine (house style section 5):

* price    -> ``int`` ticks      (price = ticks * tick_size)
* quantity -> ``int`` lots       (quantity = lots * lot_size)
* balances, notional, fees -> ``int`` atoms of their asset (1 atom = 10 ** -decimals)

A market is valid only if ``tick_size * lot_size`` is a whole number of quote atoms, so the
notional of any order is exact: ``notional_atoms = ticks * lots * notional_atoms_per_tick_lot``.

**The one rounding rule.** Conversions from Decimal never round: a value that is not exactly
representable (off the tick, off the lot, finer than an atom), not finite, or not positive is
refused with :class:`OffGrid` and a stable ``code``. The only place where a result is rounded
is a fee: ``fee_atoms = ceil(amount_atoms * rate_ppm / 10**6)``, i.e. fees round *toward the
venue*. Because rates are below 1, a fee never exceeds the amount it is charged on.

**Bounds.** Every amount the venue stores goes into a ``NUMERIC(38, 18)`` column: 20 digits
before the point. The engine keeps every amount it can hold below ``10**BOUND_DIGITS`` units
(19 digits, one fewer), per asset in atoms ``max_amount_atoms(decimals)``: a price, a quantity,
an order's notional, a single transfer, and (through the deposit rule in ``engine``, which caps
what one matcher holds of an asset) every balance, locked amount, fee-account balance and ledger
running total. The one digit of headroom is what sums need: a user's ``Balance`` row adds up
to ``MAX_SHARDS`` shards, and an order's ``filled_quote`` is at most its taker part (paid from
the quote one matcher holds) plus its resting part (at most its notional). docs/reliability.md,
"Bounded money".

Everything here is integer arithmetic or exact ``Fraction`` arithmetic; the global decimal
context is never read or changed.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from matching.types import MarketSpec

PPM = 1_000_000
"""Fee rates are held as integer parts per million."""

MAX_DECIMALS = 36
"""Largest ``AssetSpec.decimals`` accepted."""

MAX_PRICE_TICKS = 2**62
"""Largest price (in ticks) an order may carry."""

MAX_QUANTITY_LOTS = 2**62
"""Largest quantity (in lots) an order may carry."""

STOP_MARKET_BUY_CAP_BPS = 1000
"""A ``*_market`` buy by quantity holds, and buys up to, its stop price plus this many basis
points (rounded up to the tick): its protection price (docs/order-types.md)."""


def protection_price(stop_price: int) -> int:
    """A ``*_market`` buy by quantity's protection price: ``ceil(stop_price x (10000 +
    STOP_MARKET_BUY_CAP_BPS) / 10000)`` ticks."""
    return -(-stop_price * (10_000 + STOP_MARKET_BUY_CAP_BPS) // 10_000)


MAX_AMOUNT_ATOMS = 2**126
"""Largest amount (in atoms) of a transfer or a quote-quantity market order."""

STORED_DIGITS = 20
"""Digits before the point of the money columns (``DecimalField(38, 18)``)."""

BOUND_DIGITS = STORED_DIGITS - 1
"""Every amount the engine lets exist is below ``10**BOUND_DIGITS`` units of its asset."""

MAX_SHARDS = 10
"""A ``Balance`` row sums a user's balances over the shards: 10 x (10**19 - 1 atom) still fits."""

BOUND = Decimal(10) ** BOUND_DIGITS
"""Prices, quantities and amounts must be below this (in units); ``out_of_range`` otherwise."""


def max_amount_atoms(decimals: int) -> int:
    """The largest amount of an asset with ``decimals`` that may exist anywhere on a matcher:
    ``10**19`` units less one atom. It bounds a single transfer, an order's notional, and what
    one matcher holds of the asset in total (so every balance on it)."""
    largest: int = 10 ** (BOUND_DIGITS + decimals) - 1
    return largest


max_balance_atoms = max_amount_atoms
"""The most one matcher holds of an asset in total, hence the most any balance of it reaches."""

max_transfer_atoms = max_amount_atoms
"""The largest single deposit or withdrawal (the same number: one deposit into an empty venue
may bring the whole maximum)."""

_MAX_ADJUSTED = 60  # |Decimal.adjusted()| beyond this is refused before any exact arithmetic
_MIN_EXPONENT = -100


class InvalidMarketSpec(ValueError):
    """A market spec that cannot be compiled into exact integer units."""


class OffGrid(ValueError):
    """A Decimal that is not exactly representable in the requested unit.

    ``code`` is stable: ``price_off_tick``, ``quantity_off_lot``, ``amount_too_precise``,
    ``non_positive``, ``not_finite`` or ``out_of_range``.
    """

    def __init__(self, code: str, value: object) -> None:
        super().__init__(f"{code}: {value!r}")
        self.code = code


class MarketUnits(NamedTuple):
    """A market's integer factors, computed once by :func:`compile_market`."""

    symbol: str
    base: str
    quote: str
    base_decimals: int
    quote_decimals: int
    lot_atoms: int
    """Base atoms in one lot."""
    tick_atoms: int
    """Quote atoms in one tick (per unit of base)."""
    notional_atoms_per_tick_lot: int
    """Quote atoms of one lot at a price of one tick."""
    min_notional_atoms: int
    maker_fee_ppm: int
    taker_fee_ppm: int
    max_price_ticks: int
    """Highest price: ``MAX_PRICE_TICKS``, or less where the price would reach ``BOUND``."""
    max_lots: int
    """Largest quantity: ``MAX_QUANTITY_LOTS``, or less where it would reach ``BOUND``."""
    max_notional_atoms: int
    """Largest notional (price x quantity, or a market buy's quote_quantity)."""


def _whole(value: Fraction) -> int | None:
    return value.numerator if value.denominator == 1 else None


def _exact(value: Decimal) -> Fraction | None:
    """The exact value of a finite, sanely sized Decimal, else None."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    if value.is_zero():
        return Fraction(0)
    exponent = value.as_tuple().exponent
    if (
        value.adjusted() > _MAX_ADJUSTED
        or not isinstance(exponent, int)
        or exponent < _MIN_EXPONENT
    ):
        return None
    return Fraction(value)


def _rate_ppm(rate: Decimal, name: str) -> int:
    exact = _exact(rate)
    if exact is None or exact < 0 or exact >= 1:
        raise InvalidMarketSpec(f"{name} must be a finite rate in [0, 1): {rate!r}")
    ppm = _whole(exact * PPM)
    if ppm is None:
        raise InvalidMarketSpec(f"{name} has more than 6 decimal places: {rate!r}")
    return ppm


def _positive_atoms(value: Decimal, decimals: int, name: str) -> int:
    exact = _exact(value)
    atoms = None if exact is None else _whole(exact * 10**decimals)
    if atoms is None or atoms <= 0:
        raise InvalidMarketSpec(f"{name} is not a whole positive number of atoms: {value!r}")
    return atoms


def compile_market(spec: MarketSpec) -> MarketUnits:
    """Integer factors of ``spec``; raises :class:`InvalidMarketSpec` if any is not exact."""
    base, quote = spec.base, spec.quote
    if not isinstance(spec.symbol, str) or not spec.symbol:
        raise InvalidMarketSpec("symbol must be a non-empty string")
    for asset in (base, quote):
        if not isinstance(asset.code, str) or not asset.code:
            raise InvalidMarketSpec("asset code must be a non-empty string")
        if type(asset.decimals) is not int or not 0 <= asset.decimals <= MAX_DECIMALS:
            raise InvalidMarketSpec(f"decimals of {asset.code} must be in 0..{MAX_DECIMALS}")
    if base.code == quote.code:
        raise InvalidMarketSpec("base and quote must differ")
    lot_atoms = _positive_atoms(spec.lot_size, base.decimals, "lot_size")
    tick_atoms = _positive_atoms(spec.tick_size, quote.decimals, "tick_size")
    notional_per_tick_lot = _whole(
        Fraction(spec.tick_size) * Fraction(spec.lot_size) * 10**quote.decimals
    )
    if notional_per_tick_lot is None or notional_per_tick_lot <= 0:
        raise InvalidMarketSpec("tick_size x lot_size is not a whole number of quote atoms")
    min_notional = _positive_atoms(spec.min_notional, quote.decimals, "min_notional")
    max_notional = max_amount_atoms(quote.decimals)
    max_ticks = min(MAX_PRICE_TICKS, max_notional // tick_atoms)
    max_lots = min(MAX_QUANTITY_LOTS, max_amount_atoms(base.decimals) // lot_atoms)
    if not max_ticks or not max_lots or min_notional > max_notional:
        raise InvalidMarketSpec(f"tick_size, lot_size and min_notional must be below {BOUND}")
    return MarketUnits(
        spec.symbol,
        base.code,
        quote.code,
        base.decimals,
        quote.decimals,
        lot_atoms,
        tick_atoms,
        notional_per_tick_lot,
        min_notional,
        _rate_ppm(spec.maker_fee_rate, "maker_fee_rate"),
        _rate_ppm(spec.taker_fee_rate, "taker_fee_rate"),
        max_ticks,
        max_lots,
        max_notional,
    )


def _to_units(value: Decimal, unit: Decimal, off_code: str) -> int:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise OffGrid("not_finite", value)
    if value <= 0:
        raise OffGrid("non_positive", value)
    exponent = value.as_tuple().exponent
    if (
        value.adjusted() > _MAX_ADJUSTED
        or not isinstance(exponent, int)
        or exponent < _MIN_EXPONENT
    ):
        raise OffGrid("out_of_range" if value.adjusted() > 0 else off_code, value)
    # value / unit as exact integer ratios (Decimal.as_integer_ratio is exact): the same result
    # as Fraction arithmetic at a fraction of the cost; this runs for every order request.
    num, den = value.as_integer_ratio()
    unit_num, unit_den = unit.as_integer_ratio()
    units, rest = divmod(num * unit_den, den * unit_num)
    if rest:
        raise OffGrid(off_code, value)
    return units


def exact_units(value: Decimal, unit: Decimal) -> int:
    """``value / unit`` when it is a whole positive number, unbounded (a candle's volume
    adds up many trades); :class:`OffGrid` otherwise. Orders and transfers use the bounded
    conversions below."""
    return _to_units(value, unit, "amount_too_precise")


def price_to_ticks(spec: MarketSpec, price: Decimal) -> int:
    """Exact ticks of ``price``; :class:`OffGrid` (``price_off_tick``, ...) otherwise."""
    ticks = _to_units(price, spec.tick_size, "price_off_tick")
    if ticks > MAX_PRICE_TICKS or price >= BOUND:
        raise OffGrid("out_of_range", price)
    return ticks


def quantity_to_lots(spec: MarketSpec, quantity: Decimal) -> int:
    """Exact lots of ``quantity``; :class:`OffGrid` (``quantity_off_lot``, ...) otherwise."""
    lots = _to_units(quantity, spec.lot_size, "quantity_off_lot")
    if lots > MAX_QUANTITY_LOTS or quantity >= BOUND:
        raise OffGrid("out_of_range", quantity)
    return lots


def amount_to_atoms(decimals: int, amount: Decimal) -> int:
    """Exact atoms of ``amount``; :class:`OffGrid` (``amount_too_precise``, ...) otherwise."""
    atoms = _to_units(amount, Decimal(f"1E-{decimals}"), "amount_too_precise")
    if atoms > MAX_AMOUNT_ATOMS or amount >= BOUND:
        raise OffGrid("out_of_range", amount)
    return atoms


def _multiple(unit: Decimal, count: int) -> Decimal:
    """``count * unit`` exactly, written with the unit's decimal places (integers only)."""
    exponent = unit.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    num, den = unit.as_integer_ratio()
    # unit * 10**places is whole: places are the unit's own decimal places.
    return Decimal(f"{count * (num * 10**places // den)}E-{places}")


def ticks_to_price(spec: MarketSpec, ticks: int) -> Decimal:
    """``ticks * tick_size`` exactly, with the tick's number of decimal places."""
    return _multiple(spec.tick_size, ticks)


def lots_to_quantity(spec: MarketSpec, lots: int) -> Decimal:
    """``lots * lot_size`` exactly, with the lot's number of decimal places."""
    return _multiple(spec.lot_size, lots)


def atoms_to_amount(decimals: int, atoms: int) -> Decimal:
    """``atoms * 10**-decimals`` exactly, with ``decimals`` decimal places."""
    return Decimal(f"{atoms}E-{decimals}")


def fixed(units: int, places: int) -> str:
    """``units * 10**-places`` as decimal text with exactly ``places`` decimals ("-1.250"), by
    integer arithmetic: the same value as ``atoms_to_amount(places, units)``, without building
    a Decimal. The publisher and the persister write several numbers per event this way."""
    if places == 0:
        return str(units)
    # The digits, padded to one whole digit, then split (no division: 40 % faster).
    if units < 0:
        digits = str(-units).zfill(places + 1)
        return f"-{digits[:-places]}.{digits[-places:]}"
    digits = str(units).zfill(places + 1)
    return f"{digits[:-places]}.{digits[-places:]}"


def fee_atoms(amount_atoms: int, rate_ppm: int) -> int:
    """The fee on ``amount_atoms``: ``ceil(amount * rate_ppm / 10**6)`` (toward the venue)."""
    return -(-amount_atoms * rate_ppm // PPM)


def notional_atoms(units: MarketUnits, ticks: int, lots: int) -> int:
    """Quote atoms of ``lots`` at ``ticks``: the hold of a limit buy, the value of a trade."""
    return ticks * lots * units.notional_atoms_per_tick_lot


def base_atoms(units: MarketUnits, lots: int) -> int:
    """Base atoms of ``lots``: the hold of a sell."""
    return lots * units.lot_atoms


def order_hold(units: MarketUnits, is_buy: bool, ticks: int, lots: int) -> int:
    """What a resting limit order of ``lots`` remaining holds (quote if buy, base if sell)."""
    if is_buy:
        return ticks * lots * units.notional_atoms_per_tick_lot
    return lots * units.lot_atoms


def lots_affordable(units: MarketUnits, ticks: int, quote_atoms: int) -> int:
    """How many whole lots ``quote_atoms`` pay for at ``ticks`` (a market buy's next fill)."""
    return quote_atoms // (ticks * units.notional_atoms_per_tick_lot)


def trade_amounts(
    units: MarketUnits, ticks: int, lots: int, taker_is_buy: bool
) -> tuple[int, int, int, int]:
    """``(quote_atoms, base_atoms, buyer_fee_base_atoms, seller_fee_quote_atoms)`` of a fill.

    The buyer pays its fee in base (what it receives), the seller in quote; the taker's rate
    applies to the incoming order and the maker's to the resting one.
    """
    quote = ticks * lots * units.notional_atoms_per_tick_lot
    base = lots * units.lot_atoms
    if taker_is_buy:
        buyer_ppm, seller_ppm = units.taker_fee_ppm, units.maker_fee_ppm
    else:
        buyer_ppm, seller_ppm = units.maker_fee_ppm, units.taker_fee_ppm
    return quote, base, -(-base * buyer_ppm // PPM), -(-quote * seller_ppm // PPM)
