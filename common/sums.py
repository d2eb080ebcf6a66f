"""Exact sums of DecimalFields, grouped or not, on every database the project runs on.

PostgreSQL sums ``numeric`` exactly in SQL. SQLite (the zero-config run's database) stores a
decimal that is not whole as a binary float and its ``SUM`` adds floats: 90.01 + 10 + 890.1 -
990.11 comes back as 9.9e-14, not 0 (found by reconciliation on a fresh ``./scripts/run``).
Django reads each row's value back exactly (its converter quantizes the stored float to the
field's places), so on SQLite the rows are summed here, in ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import QuerySet, Sum

ZERO = Decimal(0)


def _in_sql(queryset: QuerySet[Any]) -> bool:
    return connections[queryset.db].vendor != "sqlite"


def sums_by(queryset: QuerySet[Any], key: str, *fields: str) -> dict[Any, tuple[Decimal, ...]]:
    """``key`` value -> the sums of ``fields`` over the rows with that value (groups with no
    row are absent)."""
    if _in_sql(queryset):
        names = {f"sum_{i}": Sum(field) for i, field in enumerate(fields)}
        rows = queryset.order_by().values(key).annotate(**names)
        return {row[key]: tuple(row[name] or ZERO for name in names) for row in rows.iterator()}
    out: dict[Any, list[Decimal]] = {}
    for values in queryset.order_by().values_list(key, *fields).iterator():
        totals = out.setdefault(values[0], [ZERO] * len(fields))
        for i, value in enumerate(values[1:]):
            if value is not None:
                totals[i] += value
    return {k: tuple(v) for k, v in out.items()}


def total(queryset: QuerySet[Any], *fields: str) -> tuple[Decimal, ...]:
    """The sums of ``fields`` over every row of ``queryset`` (zeros when it has none)."""
    if _in_sql(queryset):
        names = {f"sum_{i}": Sum(field) for i, field in enumerate(fields)}
        row = queryset.order_by().aggregate(**names)
        return tuple(row[name] or ZERO for name in names)
    sums = [ZERO] * len(fields)
    rows: Iterable[tuple[Any, ...]] = queryset.order_by().values_list(*fields).iterator()
    for values in rows:
        for i, value in enumerate(values):
            if value is not None:
                sums[i] += value
    return tuple(sums)
