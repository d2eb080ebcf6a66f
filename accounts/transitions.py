"""Allowed status moves for deposits and withdrawals, as tables, and how a move is refused.

A status not listed as a key is terminal. Every move is checked here before it is written: by
the services (``check_transition``: a 409 ``illegal_transition`` Conflict) and by the persister
when an engine event moves a row (``refuse_transition``: :class:`IllegalTransition`, which halts
the shard's persistence on that event like any poisoned event, docs/reliability.md).
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

DEPOSIT_ENGINE_MOVES: Table = {
    # What the engine's answer to a confirmed deposit's command makes of it (the persister
    # applies these): credited, or rejected when the engine refused it (an amount past its
    # bound on what it holds of the asset, docs/reliability.md "Bounded money"). Not a move
    # for the services: an operator may not reject a deposit whose command is on its way.
    D.CONFIRMED: frozenset({D.CREDITED, D.REJECTED}),
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

WITHDRAWAL_ENGINE_STEPS: Table = {
    # The engine command that carries a decided withdrawal out, and the statuses it carries
    # out: the held amount leaves the venue (and the fee goes to the fee account) only once it
    # was paid; the hold goes back to available only once it will never be paid. Both
    # statuses are terminal, so the row cannot move on while the command is on its way.
    "settle": frozenset({W.COMPLETED}),
    "release": frozenset({W.FAILED, W.REJECTED, W.CANCELLED}),
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


def check_step(table: Table, step: str, current: str, *, what: str) -> None:
    """Raise Conflict (409, ``illegal_transition``) unless ``step`` carries out ``current``."""
    if current not in table.get(step, frozenset()):
        raise Conflict(
            f"A {current} {what} cannot be sent to {step}.",
            code="illegal_transition",
            details={"from": current, "to": step, "allowed": sorted(table.get(step, ()))},
        )


class IllegalTransition(RuntimeError):
    """An engine event would move a projected row where its transition table forbids: the
    database and the engine disagree, so the persister stops on the event rather than write
    it (or drop it)."""


def refuse_transition(what: str, key: object, current: str, new: str, seq: int) -> None:
    """Raise :class:`IllegalTransition` for event ``seq`` moving ``what`` ``key``."""
    raise IllegalTransition(
        f"{what} {key} is {current}: event seq {seq} cannot make it {new}"
        " (not in its transition table)"
    )
