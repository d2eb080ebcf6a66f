"""Exactness checks for Decimal amounts on the Django side (the engine has matching.arith)."""

from __future__ import annotations

from decimal import Decimal


def is_whole_atoms(value: Decimal, decimals: int) -> bool:
    """True when ``value`` is a whole number of ``10 ** -decimals``.

    Reads the digits directly, so no decimal context (precision, rounding) is involved.
    """
    if not value.is_finite():
        return False
    _sign, digits, exponent = value.as_tuple()
    if not any(digits):
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    # 1.500 is (1500, exp -3): its trailing zeros lift the exponent that matters to -1.
    return int(exponent) + trailing_zeros >= -decimals


def plain(value: Decimal) -> str:
    """Exact plain notation, no exponent, no trailing zeros: 0.0100 -> "0.01", 1E+2 -> "100"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
