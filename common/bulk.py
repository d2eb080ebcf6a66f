"""Multi-row INSERT and UPDATE written out in SQL, for the persister's projections.

The persister writes every order, trade, ledger entry and balance the matcher produces. Through
the ORM (``bulk_create`` with model instances, ``bulk_update`` with a CASE per row and field)
that cost about 1 ms of CPU per order placed, more than the engine, Redis and PostgreSQL
together (a py-spy profile, docs/performance.md). These helpers take plain tuples of database
values and send one statement per chunk of rows; the SQL text comes from the models' metadata,
so column names stay in one place.

Values are what the database reads as text, already written: money as exact decimal text
(``matching.arith.fixed``), times as ``time_text(ns)``, plus ``int``, ``str``, ``bool`` and
``None``. Building a ``Decimal`` and a ``datetime`` per value and having the driver format them
again was about half of the persister's CPU per ledger row (bench/persister_bench.py,
docs/performance.md). No signals are sent and no ``save()`` runs (the ORM's ``bulk_create``
sends none either).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from common.clock import ns_to_datetime

_time_texts: dict[int, str] = {}  # ns -> text; the events of one command share its time


def time_text(ns: int) -> str:
    """A ``DateTimeField`` value for these helpers, from the engine's nanoseconds (truncated to
    microseconds, as ``ns_to_datetime``): ISO text with its UTC offset for PostgreSQL, the
    naive UTC text Django stores elsewhere (SQLite)."""
    text = _time_texts.get(ns)
    if text is None:
        value = ns_to_datetime(ns)
        if connection.vendor == "postgresql":
            text = value.isoformat(sep=" ")
        else:
            text = str(connection.ops.adapt_datetimefield_value(value))
        if len(_time_texts) >= 65_536:  # a bound, not an LRU: the next batch refills it
            _time_texts.clear()
        _time_texts[ns] = text
    return text


_ARRAY_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def array_text(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (``'{"1.5","x",NULL}'``) of text-ready values: one string
    parameter instead of one the driver quotes per element."""
    return (
        "{"
        + ",".join(
            ["NULL" if v is None else f'"{str(v).translate(_ARRAY_ESCAPES)}"' for v in values]
        )
        + "}"
    )


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


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``names`` order): PostgreSQL's COPY (psycopg formats the rows
    in C; a multi-row INSERT spent most of its time in psycopg parsing a placeholder per
    value), else ``INSERT ... VALUES (...), (...)`` in as few statements as allowed."""
    if not rows:
        return
    key = tuple(names)
    columns = _columns(model, key)
    table = f'"{model._meta.db_table}" ({", ".join(columns)})'
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        chunk = max(1, _max_variables() // len(columns))
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params = [value for row in part for value in row]
            cursor.execute(
                f"INSERT INTO {table} VALUES " + ", ".join([per_row] * len(part)), params
            )


@functools.cache
def _update_sql(model: type[models.Model], key: str, names: tuple[str, ...]) -> str:
    """A PostgreSQL ``UPDATE ... FROM unnest(<one array per column>)``: the same text for any
    number of rows, so psycopg parses it once."""
    every = (key, *names)
    fields = [_field(model, name) for name in every]
    columns = [f'"{field.column}"' for field in fields]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sets = ", ".join(f"{col} = v.{col}" for col in columns[1:])
    return (
        f'UPDATE "{model._meta.db_table}" AS t SET {sets} '
        f"FROM unnest({arrays}) AS v({', '.join(columns)}) "
        f"WHERE t.{columns[0]} = v.{columns[0]}"
    )


def update_rows(
    model: type[models.Model], key: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set ``names`` on the rows whose ``key`` is each row's first value: one statement on
    PostgreSQL, one per row elsewhere."""
    if not rows:
        return
    every = (key, *names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [array_text(column) for column in zip(*rows, strict=True)]
            cursor.execute(_update_sql(model, key, tuple(names)), arrays)
            return
        columns = _columns(model, every)
        sets = ", ".join(f"{col} = %s" for col in columns[1:])
        sql = f'UPDATE "{model._meta.db_table}" SET {sets} WHERE {columns[0]} = %s'
        cursor.executemany(sql, [[*row[1:], row[0]] for row in rows])
