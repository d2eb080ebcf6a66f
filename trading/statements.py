"""Statements: a CSV of a user's ledger and trades for a period, built by Celery.

``request`` records the statement (pending) and, after the commit, queues ``build`` (the task
``trading.tasks.build_statement``). It lives in trading, not accounts, because it reads trades
(apps depend one way: trading -> accounts).

The CSV has one row per ledger entry (``record`` = ``ledger``) and one per fill
(``record`` = ``trade``), in time order (ties: ledger entries first, each kind by id), with the
columns ``COLUMNS``; money as exact decimal strings, times both as ISO 8601 UTC and as Unix
milliseconds. Summing ``delta_available`` and ``delta_locked`` per asset gives the change of the
balance over the period, exactly.
"""

from __future__ import annotations

import csv
import heapq
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import LedgerEntry, Statement, StatementStatus, User
from accounts.serializers import fixed
from common.amounts import plain
from common.clock import datetime_to_ms
from common.errors import Conflict, NotFound, ValidationFailed
from pipeline.barrier import await_persisted
from trading.models import Trade
from trading.orders import row_trade

log = logging.getLogger(__name__)

COLUMNS = (
    "record",
    "time",
    "time_ms",
    "asset",
    "reason",
    "cause",
    "delta_available",
    "delta_locked",
    "available",
    "locked",
    "symbol",
    "trade_id",
    "order_id",
    "side",
    "price",
    "quantity",
    "quote_quantity",
    "fee",
    "fee_asset",
    "liquidity",
)
MAX_PENDING = 5  # statements one user may have waiting at once


def request(user: User, start: datetime, end: datetime) -> Statement:
    if end <= start:
        raise ValidationFailed("end_time must be after start_time.", code="invalid_period")
    if end - start > timedelta(days=settings.STATEMENT_MAX_DAYS):
        raise ValidationFailed(
            f"A statement covers at most {settings.STATEMENT_MAX_DAYS} days.",
            code="invalid_period",
            details={"max_days": settings.STATEMENT_MAX_DAYS},
        )
    waiting = Statement.objects.filter(user=user, status=StatementStatus.PENDING).count()
    if waiting >= MAX_PENDING:
        raise Conflict(
            f"{waiting} statements are still being built; wait for them.",
            code="too_many_statements",
        )
    with transaction.atomic():
        statement = Statement.objects.create(user=user, start=start, end=end)

        def queue() -> None:
            from trading.tasks import build_statement

            build_statement.delay(statement.pk)

        transaction.on_commit(queue, robust=True)
    return statement


def of(user: User, statement_id: int) -> Statement:
    found = (
        Statement.objects.filter(user=user, pk=statement_id).first()
        if 0 < statement_id < 2**63  # a bigint: anything else is no row
        else None
    )
    if found is None:
        raise NotFound("No such statement.", code="statement_not_found")
    return found


def listing(user: User) -> list[Statement]:
    return list(Statement.objects.filter(user=user).defer("content").order_by("-created_at")[:50])


class NotRecordedYet(Exception):
    """The persister has not written everything the matcher applied: build it later."""


def build(statement_id: int) -> str:
    """The task's body: write the CSV of a pending statement (again, if the last run died).
    It waits until the database has everything the matchers applied when it started, so a
    movement inside the period is never left out for being unrecorded yet."""
    statement = Statement.objects.filter(pk=statement_id).select_related("user").first()
    if statement is None or statement.status != StatementStatus.PENDING:
        return "nothing to do"
    if not await_persisted():
        raise NotRecordedYet("the persister is behind; the task retries")
    try:
        content, rows = render(statement.user_id, statement.start, statement.end)
    except Exception as exc:
        Statement.objects.filter(pk=statement.pk, status=StatementStatus.PENDING).update(
            status=StatementStatus.FAILED, error=str(exc)[:255], finished_at=timezone.now()
        )
        raise
    Statement.objects.filter(pk=statement.pk, status=StatementStatus.PENDING).update(
        status=StatementStatus.READY, content=content, rows=rows, finished_at=timezone.now()
    )
    return f"{rows} rows"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ledger_rows(user_id: int, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    entries = (
        LedgerEntry.objects.filter(user_id=user_id, created_at__gte=start, created_at__lt=end)
        .select_related("asset")
        .order_by("created_at", "id")
    )
    for e in entries.iterator(chunk_size=2000):
        d = e.asset.decimals
        row: dict[str, Any] = {
            "record": "ledger",
            "time": _iso(e.created_at),
            "time_ms": datetime_to_ms(e.created_at),
            "asset": e.asset.code,
            "reason": e.reason,
            "cause": e.cause,
            "delta_available": plain(e.delta_available),
            "delta_locked": plain(e.delta_locked),
            "available": fixed(e.available_after, d),
            "locked": fixed(e.locked_after, d),
        }
        yield (e.created_at, 0, e.pk, row)


def _trade_rows(user_id: int, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    trades = (
        Trade.objects.filter(Q(maker_user_id=user_id) | Q(taker_user_id=user_id))
        .filter(executed_at__gte=start, executed_at__lt=end)
        .select_related("market", "maker_fee_asset", "taker_fee_asset")
        .order_by("executed_at", "id")
    )
    for t in trades.iterator(chunk_size=2000):
        fill = row_trade(t, user_id)
        fill.pop("time")
        row: dict[str, Any] = {
            "record": "trade",
            "time": _iso(t.executed_at),
            "time_ms": datetime_to_ms(t.executed_at),
            **fill,
        }
        yield (t.executed_at, 1, t.pk, row)


def render(user_id: int, start: datetime, end: datetime) -> tuple[str, int]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    merged = heapq.merge(_ledger_rows(user_id, start, end), _trade_rows(user_id, start, end))
    for *_key, row in merged:
        writer.writerow(row)
        rows += 1
    return out.getvalue(), rows
