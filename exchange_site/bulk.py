"""Multi-row INSERT and UPDATE written out in SQL, for the persister's projections.

The persister writes every order, trade, ledger entry and balance the matcher produces. Through
the ORM (``bulk_create`` with model instances, ``bulk_update`` with a CASE per row and field)
that cost about 1 ms of CPU per order placed, more than the engine, Redis and PostgreSQL
together (a py-spy profile, docs/performance.md). These helpers take plain tuples of database
values and send one statement per chunk of rows; the SQL text comes from the models' metadata,
so column names stay in one place.

Values must be what the column stores: ``Decimal`` for money, aware ``datetime``, ``int``,
``str``, ``bool`` or ``None``. No signals are sent and no ``save()`` runs (the ORM's
``bulk_create`` sends none either).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models


def _max_variables() -> int:
    """Bound values per statement: PostgreSQL allows 65,535; SQLite 32,766 (999 before 3.32)."""
    return 30_000 if connection.vendor == "postgresql" else 999


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


@functools.cache
def _columns(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f'"{_field(model, name).column}"' for name in names)


@functools.cache
def _adapters(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    """Per column, a conversion the driver needs (None: pass as is). psycopg adapts Decimal and
    aware datetimes itself; SQLite stores datetimes as naive UTC text, as the ORM writes them."""
    if connection.vendor == "postgresql":
        return tuple(None for _ in names)
    adapters: list[Callable[[Any], Any] | None] = []
    for name in names:
        field = _field(model, name)
        if isinstance(field, models.DateTimeField):
            adapters.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(field, models.DecimalField):
            adapters.append(str)
        else:
            adapters.append(None)
    return tuple(adapters)


def _adapt(
    rows: Sequence[Sequence[Any]], adapters: tuple[Callable[[Any], Any] | None, ...]
) -> Sequence[Sequence[Any]]:
    if not any(adapters):
        return rows
    return [
        [
            value if fn is None or value is None else fn(value)
            for fn, value in zip(adapters, row, strict=True)
        ]
        for row in rows
    ]


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``INSERT INTO <model> (names) VALUES (...), (...)``, in as few statements as allowed."""
    if not rows:
        return
    key = tuple(names)
    columns = _columns(model, key)
    rows = _adapt(rows, _adapters(model, key))
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) VALUES '
    chunk = max(1, _max_variables() // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params = [value for row in part for value in row]
            cursor.execute(head + ", ".join([per_row] * len(part)), params)


@functools.cache
def _update_sql(model: type[models.Model], key: str, names: tuple[str, ...]) -> tuple[str, str]:
    """(head, tail) of a PostgreSQL ``UPDATE ... FROM (VALUES ...)``; each value is cast to its
    column's type, since a VALUES list of literals has no types of its own."""
    table = model._meta.db_table
    every = (key, *names)
    fields = [_field(model, name) for name in every]
    columns = [f'"{field.column}"' for field in fields]
    sets = ", ".join(
        f"{col} = v.{col}::{field.db_type(connection)}"
        for col, field in zip(columns[1:], fields[1:], strict=True)
    )
    head = f'UPDATE "{table}" AS t SET {sets} FROM (VALUES '
    tail = (
        f") AS v({', '.join(columns)}) "
        f"WHERE t.{columns[0]} = v.{columns[0]}::{fields[0].db_type(connection)}"
    )
    return head, tail


def update_rows(
    model: type[models.Model], key: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set ``names`` on the rows whose ``key`` is each row's first value: one statement per
    chunk on PostgreSQL, one per row elsewhere (SQLite's VALUES has no column aliases)."""
    if not rows:
        return
    every = (key, *names)
    rows = _adapt(rows, _adapters(model, every))
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            columns = _columns(model, every)
            sets = ", ".join(f"{col} = %s" for col in columns[1:])
            sql = f'UPDATE "{model._meta.db_table}" SET {sets} WHERE {columns[0]} = %s'
            cursor.executemany(sql, [[*row[1:], row[0]] for row in rows])
            return
        head, tail = _update_sql(model, key, tuple(names))
        per_row = "(" + ", ".join(["%s"] * len(every)) + ")"
        chunk = max(1, _max_variables() // len(every))
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params = [value for row in part for value in row]
            cursor.execute(head + ", ".join([per_row] * len(part)) + tail, params)
