"""Time conversions at the edges. The engine speaks integer nanoseconds; nothing here uses float."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MAX_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z, the last millisecond a ``datetime`` holds: every time parameter is
checked against it (``ms_to_datetime`` beyond it would raise OverflowError, a 500)."""


def now_ns() -> int:
    return time.time_ns()


def ns_to_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ms(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def ms_to_datetime(ms: int) -> datetime:
    """``ms`` must be within 0..``MAX_MS`` (validated where it comes in)."""
    return _EPOCH + timedelta(milliseconds=ms)
