"""The withdrawal lifecycle: request, approval, payout, settlement, and every way out.

```
request ─hold refused─> failed
   │ (amount + fee held in the engine)
   v
pending ──user──> cancelled ─┐
   │ ──operator──> rejected ─┤ release: amount + fee back to available
   │ auto (≤ threshold) or operator                       │
   v                                                      │
approved ──operator──> rejected ──────────────────────────┤
   │ payout task                                          │
   v                                                      │
processing ──backend failed──> failed ────────────────────┘
   │  │ ──no answer in WITHDRAWAL_PAYOUT_TIMEOUT_S──> timed_out ──operator: failed / paid / retry
   │ backend paid
   v
completed  settle: amount leaves the venue, the fee goes to the fee account (engine events)
```

Every move is a compare-and-set on the status, checked against ``WITHDRAWAL_TRANSITIONS``
(accounts/transitions.py), so of two concurrent actors one wins. The database row is the
decision; the engine command that carries it out (settle, release: ``WITHDRAWAL_ENGINE_STEPS``
says for which statuses) is sent after the commit, and ``sweep`` sends again whatever a crash
lost (the engine applies a transfer id once, and the persister records ``held_at`` /
``settled_at`` / ``released_at`` from its events, checking the same table). The payout
task may run twice (acks late, a worker killed, a sweep re-queueing it): only the run that moves
the row from ``approved`` to ``processing`` calls the backend, which is idempotent by the
withdrawal's transfer id anyway (accounts/payouts.py).

Funds are always held before anything is paid: a withdrawal is approved only once its hold is
confirmed (the matcher's reply, or ``held_at``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit, shard_funds, two_factor
from accounts.addresses import validate_address
from accounts.models import Asset, AuditAction, User, Withdrawal, WithdrawalStatus
from accounts.notifications import notify
from accounts.payouts import PayoutRequest, PayoutResult, PayoutUnavailable, backend
from accounts.services import validate_amount
from accounts.transitions import (
    WITHDRAWAL_ENGINE_STEPS,
    WITHDRAWAL_TRANSITIONS,
    check_step,
    check_transition,
)
from common.amounts import plain
from common.errors import Conflict, NotFound, ValidationFailed
from common.sums import total
from matching import commands
from matching.arith import amount_to_atoms
from matching.events import TransferRejected
from pipeline.client import matcher, new_command_id, now_ns, shard_map

log = logging.getLogger(__name__)

W = WithdrawalStatus
# Statuses whose amount counts against the rolling 24 h limit: everything not given back.
_COUNTED = (W.PENDING, W.APPROVED, W.PROCESSING, W.COMPLETED, W.TIMED_OUT)
_RELEASED_BY = tuple(WITHDRAWAL_ENGINE_STEPS["release"])
_SETTLED_BY = tuple(WITHDRAWAL_ENGINE_STEPS["settle"])


# --- Moving a row ---------------------------------------------------------------------------------


def move(withdrawal: Withdrawal, status: str, **fields: Any) -> Withdrawal:
    """Compare-and-set ``withdrawal`` to ``status`` (Conflict if the table forbids it or
    somebody moved it first); ``fields`` are written with it."""
    check_transition(WITHDRAWAL_TRANSITIONS, withdrawal.status, status, what="withdrawal")
    values = {"status": status, "updated_at": timezone.now(), **fields}
    moved = Withdrawal.objects.filter(pk=withdrawal.pk, status=withdrawal.status).update(**values)
    if not moved:
        raise Conflict("The withdrawal changed meanwhile; reload it.", code="concurrent_update")
    for name, value in values.items():
        setattr(withdrawal, name, value)
    return withdrawal


def _facts(w: Withdrawal, **extra: str) -> dict[str, str]:
    """What the e-mails say about ``w``."""
    return {
        "withdrawal_id": str(w.pk),
        "asset": w.asset.code,
        "amount": plain(w.amount),
        "fee": plain(w.fee),
        "address": w.address,
        **extra,
    }


# --- Request --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """What a withdrawal of ``amount`` costs: the fee on top, and the 24 h limit's state."""

    fee: Decimal
    limit: Decimal | None
    used: Decimal


def used_in_24h(user: User, asset: Asset) -> Decimal:
    since = timezone.now() - timedelta(hours=24)
    mine = Withdrawal.objects.filter(user=user, asset=asset, status__in=_COUNTED)
    return total(mine.filter(created_at__gte=since), "amount")[0]  # exact on SQLite (common.sums)


def check_request(user: User, asset: Asset, amount: Decimal, address: str) -> Quote:
    """Every check that needs no engine: 400 with a stable code, or the quote."""
    validate_amount(asset, amount)  # invalid_amount: not positive, too large, off the atoms
    if not asset.is_active:
        raise ValidationFailed(f"{asset.code} is not active.", code="asset_inactive")
    validate_address(asset.address_format, address, asset=asset.code)
    if amount < asset.withdrawal_min:
        raise ValidationFailed(
            f"The smallest {asset.code} withdrawal is {plain(asset.withdrawal_min)}.",
            code="below_minimum",
            details={"minimum": plain(asset.withdrawal_min)},
        )
    quote = Quote(asset.withdrawal_fee, asset.withdrawal_daily_limit, used_in_24h(user, asset))
    _check_limit(quote, asset, amount)
    return quote


def _check_limit(quote: Quote, asset: Asset, amount: Decimal) -> None:
    if quote.limit is not None and quote.used + amount > quote.limit:
        remaining = max(quote.limit - quote.used, Decimal(0))
        raise ValidationFailed(
            f"This exceeds your 24-hour {asset.code} withdrawal limit of {plain(quote.limit)}"
            f" ({plain(remaining)} left).",
            code="withdrawal_limit_exceeded",
            details={
                "limit": plain(quote.limit),
                "used": plain(quote.used),
                "remaining": plain(remaining),
            },
        )


def request(
    user: User, asset: Asset, amount: Decimal, address: str, *, totp: str | None = None
) -> tuple[Withdrawal, bool]:
    """A user's withdrawal: checked, second factor, recorded, amount + fee held in the engine at
    once; (withdrawal, whether the matcher answered). Refused by the engine (not enough
    available): the row is marked failed and this raises 400 ``insufficient_funds``."""
    quote = check_request(user, asset, amount, address)
    # After the checks, so a code is not spent on a request refused for a typo.
    two_factor.require(user, totp)
    atoms = amount_to_atoms(asset.decimals, amount)
    fee_atoms = amount_to_atoms(asset.decimals, quote.fee)
    funding = shard_map().funding
    # With several shards, funds may sit on another one (orders moved them): bring them back.
    shard_funds.ensure_available(user.pk, asset.code, atoms + fee_atoms, funding)
    with transaction.atomic():
        # One request per user at a time past this point: the 24 h limit is read and used in
        # the same transaction (the engine alone decides whether the funds are there).
        User.objects.select_for_update().filter(pk=user.pk).first()
        _check_limit(Quote(quote.fee, quote.limit, used_in_24h(user, asset)), asset, amount)
        withdrawal = Withdrawal.objects.create(
            user=user, asset=asset, amount=amount, fee=quote.fee, address=address
        )
    cmd = commands.Withdraw(
        new_command_id(),
        now_ns(),
        str(withdrawal.transfer_id),
        user.pk,
        asset.code,
        atoms,
        fee_atoms,
    )
    sent = matcher().send(funding, cmd, user=user.pk)
    if sent.events is None:
        # Durable, not answered yet: the persister records the hold (held_at) or the refusal
        # (failed), and the sweep approves it then.
        with transaction.atomic():
            notify(user.pk, "withdrawal_requested", **_facts(withdrawal))
        return withdrawal, False
    refused = next((ev for ev in sent.events if isinstance(ev, TransferRejected)), None)
    if refused is not None:
        reason = str(refused.reason)
        try:
            move(withdrawal, W.FAILED, reject_reason=reason)
        except Conflict:
            pass  # the persister marked it failed first, from the same event
        message = "Not enough available." if reason == "insufficient_funds" else reason
        raise ValidationFailed(message, code=reason, details={"withdrawal_id": withdrawal.pk})
    with transaction.atomic():
        Withdrawal.objects.filter(pk=withdrawal.pk, held_at__isnull=True).update(
            held_at=timezone.now()
        )
        withdrawal.held_at = withdrawal.held_at or timezone.now()
        notify(user.pk, "withdrawal_requested", **_facts(withdrawal))
        _maybe_auto_approve(withdrawal)
    return withdrawal, True


def _maybe_auto_approve(withdrawal: Withdrawal) -> None:
    if (
        withdrawal.status == W.PENDING
        and withdrawal.amount <= withdrawal.asset.withdrawal_auto_approve_max
    ):
        try:
            approve(withdrawal, actor=None)
        except Conflict:
            withdrawal.refresh_from_db()  # cancelled meanwhile: the request still succeeded


# --- Approval, rejection, cancellation ------------------------------------------------------------


def approve(withdrawal: Withdrawal, *, actor: User | None, reason: str = "") -> Withdrawal:
    """Approve a held withdrawal (``actor`` None: automatically, below the threshold); the
    payout task is queued after the commit."""
    if withdrawal.held_at is None:
        raise Conflict(
            "The funds are not confirmed held yet; try again in a moment.",
            code="hold_not_confirmed",
        )
    with transaction.atomic():
        move(withdrawal, W.APPROVED, approved_at=timezone.now(), approved_by=actor)
        if actor is not None:
            audit.record(actor, AuditAction.WITHDRAWAL_APPROVE, withdrawal, reason)
        notify(withdrawal.user_id, "withdrawal_approved", **_facts(withdrawal))
        _queue_payout(withdrawal.pk)
    return withdrawal


def reject(withdrawal: Withdrawal, *, actor: User, reason: str) -> Withdrawal:
    """An operator refuses a pending or approved (not yet processing) withdrawal; its hold is
    released."""
    reason = audit.require_reason(reason)
    with transaction.atomic():
        move(withdrawal, W.REJECTED, reject_reason=reason[:255])
        audit.record(actor, AuditAction.WITHDRAWAL_REJECT, withdrawal, reason)
        notify(withdrawal.user_id, "withdrawal_rejected", **_facts(withdrawal, reason=reason))
        _after_commit_release(withdrawal)
    return withdrawal


def cancel(user: User, withdrawal_id: int) -> Withdrawal:
    """The user takes back a withdrawal that is not approved yet; its hold is released."""
    withdrawal = (
        Withdrawal.objects.filter(user=user, pk=withdrawal_id).select_related("asset").first()
        if 0 < withdrawal_id < 2**63  # a bigint: anything else is no row
        else None
    )
    if withdrawal is None:
        raise NotFound("No such withdrawal.", code="withdrawal_not_found")
    with transaction.atomic():
        move(withdrawal, W.CANCELLED, reject_reason="cancelled by the user")
        _after_commit_release(withdrawal)
    return withdrawal


# --- Resolving a timed-out payout (operators) -----------------------------------------------------


def resolve_paid(withdrawal: Withdrawal, *, actor: User, txid: str, reason: str) -> Withdrawal:
    """The operator found the payout made (``txid``): complete it, settle the hold."""
    txid = (txid or "").strip()
    if not txid:
        raise ValidationFailed("Give the payout's transaction id.", code="txid_required")
    with transaction.atomic():
        _complete(withdrawal, txid)
        audit.record(actor, AuditAction.WITHDRAWAL_MARK_PAID, withdrawal, reason, txid=txid)
    return withdrawal


def resolve_failed(withdrawal: Withdrawal, *, actor: User, reason: str) -> Withdrawal:
    """The operator found that nothing was paid: fail it, release the hold."""
    reason = audit.require_reason(reason)
    with transaction.atomic():
        _fail(withdrawal, reason)
        audit.record(actor, AuditAction.WITHDRAWAL_MARK_FAILED, withdrawal, reason)
    return withdrawal


def retry(withdrawal: Withdrawal, *, actor: User, reason: str) -> Withdrawal:
    """Hand a timed-out withdrawal to the backend again (it pays a reference once)."""
    with transaction.atomic():
        move(withdrawal, W.APPROVED)
        audit.record(actor, AuditAction.WITHDRAWAL_RETRY, withdrawal, reason)
        _queue_payout(withdrawal.pk)
    return withdrawal


# --- Payout ---------------------------------------------------------------------------------------


def _queue_payout(withdrawal_id: int) -> None:
    def send() -> None:
        from accounts.tasks import pay_withdrawal

        pay_withdrawal.delay(withdrawal_id)

    transaction.on_commit(send, robust=True)  # lost: the sweep queues it again


def pay(withdrawal_id: int) -> str:
    """The payout task's body; returns what it did (for logs and tests)."""
    withdrawal = Withdrawal.objects.filter(pk=withdrawal_id).select_related("asset").first()
    if withdrawal is None:
        return "missing"
    if withdrawal.status == W.PROCESSING and _stale(withdrawal):
        return check_stale(withdrawal)
    if withdrawal.status != W.APPROVED:
        return f"nothing to do ({withdrawal.status})"
    try:
        move(
            withdrawal,
            W.PROCESSING,
            payout_started_at=timezone.now(),
            payout_attempts=withdrawal.payout_attempts + 1,
        )
    except Conflict:
        return "taken by another run"
    request = PayoutRequest(
        str(withdrawal.transfer_id),
        withdrawal.asset.code,
        plain(withdrawal.amount),
        withdrawal.address,
    )
    try:
        result = backend().send(request)
    except PayoutUnavailable:
        move(withdrawal, W.APPROVED)  # nothing was sent: the task retries with a backoff
        raise
    except SoftTimeLimitExceeded:
        time_out(withdrawal)
        return "timed out"
    try:
        return apply_result(withdrawal, result)
    except Conflict:
        # Timed out meanwhile (the sweep gave up on it): the late answer resolves it.
        withdrawal.refresh_from_db()
        if withdrawal.status != W.TIMED_OUT:
            return f"nothing to do ({withdrawal.status})"
        return apply_result(withdrawal, result)


def apply_result(withdrawal: Withdrawal, result: PayoutResult) -> str:
    """Record the backend's answer: paid (settle), failed (release), or nothing yet."""
    if result.state == "paid":
        with transaction.atomic():
            _complete(withdrawal, result.txid)
        return "paid"
    if result.state == "failed":
        with transaction.atomic():
            _fail(withdrawal, result.error or "payout_failed")
        return "failed"
    return "pending"  # the sweep asks the backend again, then times it out


def _complete(withdrawal: Withdrawal, txid: str) -> None:
    move(withdrawal, W.COMPLETED, txid=txid[:128], completed_at=timezone.now())
    notify(withdrawal.user_id, "withdrawal_paid", **_facts(withdrawal, txid=txid))
    transaction.on_commit(lambda: send_settle(withdrawal), robust=True)


def _fail(withdrawal: Withdrawal, reason: str) -> None:
    move(withdrawal, W.FAILED, reject_reason=reason[:255])
    notify(withdrawal.user_id, "withdrawal_failed", **_facts(withdrawal, reason=reason))
    _after_commit_release(withdrawal)


def time_out(withdrawal: Withdrawal) -> None:
    """No answer from the backend in time: an operator must find out and resolve it."""
    try:
        move(withdrawal, W.TIMED_OUT)
    except Conflict:
        return  # resolved meanwhile
    log.error(
        "withdrawal %s: the payout backend did not answer in %s s; an operator must resolve it"
        " (admin, Withdrawals, status timed out)",
        withdrawal.pk,
        settings.WITHDRAWAL_PAYOUT_TIMEOUT_S,
    )


def _stale(withdrawal: Withdrawal) -> bool:
    started = withdrawal.payout_started_at or withdrawal.updated_at
    return timezone.now() - started > timedelta(seconds=settings.WITHDRAWAL_PAYOUT_TIMEOUT_S)


def check_stale(withdrawal: Withdrawal) -> str:
    """A payout processing for longer than the timeout (a hang, a worker killed mid-send): ask
    the backend; what it knows is applied, otherwise the withdrawal times out."""
    try:
        result = backend().status(str(withdrawal.transfer_id))
    except Exception:
        log.warning("withdrawal %s: payout status unavailable", withdrawal.pk, exc_info=True)
        result = PayoutResult("pending")
    done = apply_result(withdrawal, result)
    if done == "pending":
        time_out(withdrawal)
        return "timed out"
    return done


# --- Engine commands after the decision -----------------------------------------------------------


def send_settle(withdrawal: Withdrawal) -> None:
    check_step(WITHDRAWAL_ENGINE_STEPS, "settle", withdrawal.status, what="withdrawal")
    cmd = commands.SettleWithdrawal(new_command_id(), now_ns(), str(withdrawal.transfer_id))
    matcher().send(shard_map().funding, cmd, user=withdrawal.user_id, wait=False)


def send_release(withdrawal: Withdrawal) -> None:
    check_step(WITHDRAWAL_ENGINE_STEPS, "release", withdrawal.status, what="withdrawal")
    cmd = commands.ReleaseWithdrawal(new_command_id(), now_ns(), str(withdrawal.transfer_id))
    matcher().send(shard_map().funding, cmd, user=withdrawal.user_id, wait=False)


def send_hold(withdrawal: Withdrawal) -> None:
    asset = withdrawal.asset
    cmd = commands.Withdraw(
        new_command_id(),
        now_ns(),
        str(withdrawal.transfer_id),
        withdrawal.user_id,
        asset.code,
        amount_to_atoms(asset.decimals, withdrawal.amount),
        amount_to_atoms(asset.decimals, withdrawal.fee),
    )
    matcher().send(shard_map().funding, cmd, user=withdrawal.user_id, wait=False)


def _after_commit_release(withdrawal: Withdrawal) -> None:
    # Also when the hold is not confirmed yet: the release follows the Withdraw in the same
    # stream, so the engine holds first and then releases.
    transaction.on_commit(lambda: send_release(withdrawal), robust=True)


# --- The sweep (Celery beat) ----------------------------------------------------------------------


def sweep(*, grace: timedelta | None = None) -> dict[str, int]:
    """Finish what a lost message or a crash left undone; every step is idempotent."""
    grace = timedelta(seconds=settings.WITHDRAWAL_SWEEP_GRACE_S) if grace is None else grace
    before = timezone.now() - grace
    done = dict.fromkeys(
        ("holds", "approved", "queued", "stale", "resolved", "settles", "releases"), 0
    )
    rows = Withdrawal.objects.select_related("asset")
    for w in rows.filter(status=W.PENDING, held_at__isnull=True, created_at__lt=before):
        send_hold(w)
        done["holds"] += 1
    for w in rows.filter(status=W.PENDING, held_at__isnull=False, approved_at__isnull=True):
        if w.amount <= w.asset.withdrawal_auto_approve_max:
            try:
                approve(w, actor=None)
                done["approved"] += 1
            except Conflict:
                pass
    for w in rows.filter(status=W.APPROVED, updated_at__lt=before):
        _queue_payout(w.pk)
        done["queued"] += 1
    timeout = timezone.now() - timedelta(seconds=settings.WITHDRAWAL_PAYOUT_TIMEOUT_S)
    for w in rows.filter(status=W.PROCESSING, payout_started_at__lt=timeout):
        check_stale(w)
        done["stale"] += 1
    for w in rows.filter(status=W.TIMED_OUT):  # the backend may have learnt the outcome since
        try:
            result = backend().status(str(w.transfer_id))
        except Exception:
            log.warning("withdrawal %s: payout status unavailable", w.pk, exc_info=True)
            continue
        if result.state != "pending" and apply_result(w, result) != "pending":
            done["resolved"] += 1
    for w in rows.filter(status__in=_SETTLED_BY, settled_at__isnull=True, updated_at__lt=before):
        send_settle(w)
        done["settles"] += 1
    for w in rows.filter(
        Q(status__in=_RELEASED_BY) & Q(held_at__isnull=False),
        released_at__isnull=True,
        updated_at__lt=before,
    ):
        send_release(w)
        done["releases"] += 1
    if any(done.values()):
        log.info("withdrawal sweep: %s", done)
    return done
