"""Background and periodic work of the accounts app (Celery).

Every task is idempotent (it may run twice: acks late, a worker killed, a sweep queueing it
again) and thin: the work is in the services it calls. Tasks that talk to Redis, the database
or the payout backend retry with an exponential backoff on outages (``RETRY``).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from accounts import notifications, reconciliation, services, shard_funds, withdrawals
from accounts.payouts import PayoutUnavailable
from pipeline.wire import OUTAGES as REDIS_OUTAGES

# Outages worth another try; anything else is a bug or a refusal, logged by Celery.
OUTAGES = (*REDIS_OUTAGES, OperationalError, InterfaceError)
RETRY: dict[str, Any] = {
    "autoretry_for": OUTAGES,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="accounts.tasks.resend_confirmed_deposits", ignore_result=True, **RETRY)
def resend_confirmed_deposits() -> int:
    """Every 10 s (CELERY_BEAT_SCHEDULE): deposits confirmed > 5 s ago and not credited yet
    are sent to the matcher again. Exactly once: the engine ignores a transfer id it applied."""
    return services.deposits_resend()


@shared_task(name="accounts.tasks.confirm_deposit", ignore_result=True, **RETRY)
def confirm_deposit(deposit_id: int) -> str:
    """The development deposit source's confirmation (accounts/deposit_sources.py)."""
    return services.deposit_confirm_once(deposit_id)


@shared_task(name="accounts.tasks.sweep_deposits", ignore_result=True, **RETRY)
def sweep_deposits() -> int:
    """Every 10 s: with the dev source, deposits left pending (their task was lost) are
    confirmed."""
    return services.deposits_sweep()


@shared_task(name="accounts.tasks.resume_shard_moves", ignore_result=True, **RETRY)
def resume_shard_moves() -> int:
    """Every 15 s: finish moves between matcher shards that a crash cut short (each step is
    idempotent by transfer id; see accounts/shard_funds.py)."""
    return shard_funds.moves_resume()


@shared_task(
    name="accounts.tasks.pay_withdrawal",
    ignore_result=True,
    autoretry_for=(*OUTAGES, PayoutUnavailable),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
    # A backend that does not answer is cut off here (SoftTimeLimitExceeded: timed_out).
    soft_time_limit=settings.WITHDRAWAL_PAYOUT_TIMEOUT_S,
    time_limit=settings.WITHDRAWAL_PAYOUT_TIMEOUT_S + 30,
)
def pay_withdrawal(withdrawal_id: int) -> str:
    """Hand an approved withdrawal to the payout backend (accounts/withdrawals.py, ``pay``)."""
    return withdrawals.pay(withdrawal_id)


@shared_task(name="accounts.tasks.sweep_withdrawals", ignore_result=True, **RETRY)
def sweep_withdrawals() -> dict[str, int]:
    """Every WITHDRAWAL_SWEEP_S: re-send lost holds, settles and releases, approve what the
    threshold allows once held, queue lost payouts, time out payouts nobody answers."""
    return withdrawals.sweep()


@shared_task(name="accounts.tasks.send_notification", ignore_result=True, **RETRY)
def send_notification(
    notification_id: str, user_id: int, kind: str, context: dict[str, Any]
) -> bool:
    return notifications.deliver(notification_id, user_id, kind, context)


@shared_task(name="accounts.tasks.reconcile", ignore_result=True, **RETRY)
def reconcile() -> str:
    """Every RECONCILE_EVERY_S: compare the engine, the balances, the ledger and the transfers
    (accounts/reconciliation.py); a difference is an alert."""
    return reconciliation.run().status
