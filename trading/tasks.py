"""Background work of the trading app (Celery)."""

from __future__ import annotations

from celery import shared_task

from accounts.tasks import OUTAGES, RETRY
from trading import statements


@shared_task(
    name="trading.tasks.build_statement",
    ignore_result=True,
    **{**RETRY, "autoretry_for": (*OUTAGES, statements.NotRecordedYet)},
)
def build_statement(statement_id: int) -> str:
    """Build a requested CSV statement of ledger and trades (trading/statements.py)."""
    return statements.build(statement_id)
