from decimal import Decimal

import pytest

from common.amounts import is_whole_atoms, plain


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        ("1", 0, True),
        ("0.01", 2, True),
        ("0.010000", 2, True),  # trailing zeros do not matter
        ("0.001", 2, False),
        ("100", 0, True),
        ("1E+2", 0, True),
        ("0", 6, True),
        ("0.000000000000000001", 18, True),
        ("0.0000000000000000001", 18, False),
        ("12345678901234567890.123456789012345678", 18, True),  # 38 digits, no rounding
        ("12345678901234567890.123456789012345678", 17, False),
        ("NaN", 6, False),
        ("Infinity", 6, False),
    ],
)
def test_is_whole_atoms_when_given(value, decimals, expected):
    assert is_whole_atoms(Decimal(value), decimals) is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.010000000000000000", "0.01"),
        ("1E+2", "100"),
        ("27123.50", "27123.5"),
        ("5.000", "5"),
        ("0", "0"),
        ("12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"),
    ],
)
def test_plain_renders_exact_text_when_given(value, text):
    assert plain(Decimal(value)) == text
