"""Serializer fields shared by every app's API."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.amounts import plain

DECIMAL_RE = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,18})?$")


@extend_schema_field({"type": "string", "format": "decimal", "example": "27123.5"})
class DecimalString(serializers.Field):
    """Money and sizes as JSON strings, exact both ways.

    Out: plain notation, no exponent, no trailing zeros ("0.01", "27123.5").
    In: only a string of digits with an optional fraction: JSON numbers (which a client may
    already have rounded through a float), exponents, NaN and infinity are refused.
    """

    default_error_messages = {
        "invalid": 'Must be a decimal string such as "12.34" (no JSON number, no exponent).',
    }

    def to_representation(self, value: Decimal) -> str:
        return plain(value)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not DECIMAL_RE.match(data):
            self.fail("invalid")
        return Decimal(data)
