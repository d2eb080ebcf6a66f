"""Allowed status moves for deposits and withdrawals, as tables.

A status not listed as a key is terminal. Services check every move here before writing it.
"""

from __future__ import annotations

from collections.abc import Mapping

from accounts.models import DepositStatus as D
from accounts.models import WithdrawalStatus as W
from exchange_site.errors import Conflict

Table = Mapping[str, frozenset[str]]

DEPOSIT_TRANSITIONS: Table = {
    D.PENDING: frozenset({D.CONFIRMED, D.REJECTED}),
    D.CONFIRMED: frozenset({D.CREDITED}),  # credited only once the engine applied it
}

WITHDRAWAL_TRANSITIONS: Table = {
    # pending: funds held in the engine; every exit except approval releases them. failed: the
    # engine refused the hold (insufficient funds), so nothing was ever held.
    W.PENDING: frozenset({W.APPROVED, W.REJECTED, W.CANCELLED, W.FAILED}),
    # an operator may still refuse an approved withdrawal before paying it out (released).
    W.APPROVED: frozenset({W.COMPLETED, W.FAILED, W.REJECTED}),
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
