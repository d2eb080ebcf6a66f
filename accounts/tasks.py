"""Periodic and background work of the accounts app (Celery)."""

from __future__ import annotations

from celery import shared_task

from accounts import services, shard_funds


@shared_task(name="accounts.tasks.resend_confirmed_deposits", ignore_result=True)
def resend_confirmed_deposits() -> int:
    """Every 10 s (CELERY_BEAT_SCHEDULE): deposits confirmed > 5 s ago and not credited yet
    are sent to the matcher again. Exactly once: the engine ignores a transfer id it applied."""
    return services.deposits_resend()


@shared_task(name="accounts.tasks.resume_shard_moves", ignore_result=True)
def resume_shard_moves() -> int:
    """Every 15 s: finish moves between matcher shards that a crash cut short (each step is
    idempotent by transfer id; see accounts/shard_funds.py)."""
    return shard_funds.moves_resume()
