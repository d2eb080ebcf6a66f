"""What the admin's index page tells operators first: reconciliation and withdrawals waiting."""

from __future__ import annotations

from typing import Any

from django import template

from accounts import reconciliation
from accounts.models import Withdrawal, WithdrawalStatus

register = template.Library()


@register.simple_tag
def operations_summary() -> dict[str, Any]:
    waiting = {
        status: Withdrawal.objects.filter(status=status).count()
        for status in (WithdrawalStatus.PENDING, WithdrawalStatus.TIMED_OUT)
    }
    return {
        "reconciliation": reconciliation.alert(),
        "pending": waiting[WithdrawalStatus.PENDING],
        "timed_out": waiting[WithdrawalStatus.TIMED_OUT],
    }
