"""Allowed status moves for deposits and withdrawals, as tables.

A status not listed as a key is terminal. Services check every move here before writing it.
"""

from __future__ import annotations

from collections.abc import Mapping

from accounts.models import DepositStatus as D
from accounts.models import WithdrawalStatus as W
from common.errors import Conflict

Table = Mapping[str, frozenset[str]]

DEPOSIT_TRANSITIONS: Table = {
    D.PENDING: frozenset({D.CONFIRMED, D.REJECTED}),
    D.CONFIRMED: frozenset({D.CREDITED}),  # credited only once the engine applied it
}

WITHDRAWAL_TRANSITIONS: Table = {
    # pending: funds held (or the hold in flight). Approval keeps the hold; every other exit
    # releases it. failed from pending: the engine refused the hold, nothing was held.
    W.PENDING: frozenset({W.APPROVED, W.REJECTED, W.CANCELLED, W.FAILED}),
    # approved: the payout task is queued; an operator may still refuse it (released). The
    # user may not cancel any more.
    W.APPROVED: frozenset({W.PROCESSING, W.REJECTED}),
    # processing: with the payout backend. Back to approved only when the backend said nothing
    # was sent (a retry); timed_out when it does not answer in time.
    W.PROCESSING: frozenset({W.COMPLETED, W.FAILED, W.TIMED_OUT, W.APPROVED}),
    # timed_out: an operator (or the backend's late answer) resolves it: paid, not paid, or
    # try again (the backend pays a transfer id once).
    W.TIMED_OUT: frozenset({W.COMPLETED, W.FAILED, W.APPROVED}),
}


def allowed(table: Table, current: str, new: str) -> bool:
    return new in table.get(current, frozenset())


def check_transition(table: Table, current: str, new: str, *, what: str) -> None:
    """Raise Conflict (409, code ``illegal_transition``) unless ``current -> new`` is allowed."""
    if not allowed(table, current, new):
        raise Conflict(
            f"A {what} cannot go from {current} to {new}.",
            code="illegal_transition",
            details={"from": current, "to": new, "allowed": sorted(table.get(current, ()))},
        )
