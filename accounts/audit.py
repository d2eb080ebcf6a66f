"""The operators' audit log: every admin action on money says who, when and why.

``record`` is called by the service that makes the change, inside its transaction, so the
entry exists exactly when the change does. Nothing updates or deletes entries: the admin shows
them read-only (accounts/admin.py).
"""

from __future__ import annotations

from typing import Any

from accounts.models import AuditAction, AuditLogEntry, Deposit, User, Withdrawal
from common.errors import ValidationFailed


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why: an operator's action on money needs a reason.")
    return reason


def record(
    actor: User, action: AuditAction, target: Deposit | Withdrawal, reason: str, **details: Any
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_type="deposit" if isinstance(target, Deposit) else "withdrawal",
        target_id=target.pk,
        reason=require_reason(reason),
        details={
            "user": target.user_id,
            "asset": target.asset.code,
            "amount": str(target.amount),
            "status": target.status,
            **details,
        },
    )
