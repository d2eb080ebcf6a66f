"""Allowed order status moves. A status not listed as a key is terminal.

The persister checks every status an event gives an order here (``trading/projections.py``),
so a late, repeated or impossible event can never move a filled or cancelled order back to open:
it halts the shard's persistence on that event instead (docs/reliability.md, "A poisoned event").
"""

from __future__ import annotations

from accounts.transitions import Table
from trading.models import ListStatus as LS
from trading.models import OrderStatus as S

ORDER_TRANSITIONS: Table = {
    S.PENDING: frozenset(
        {S.UNTRIGGERED, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED}
    ),
    # A conditional order waits outside the book; its trigger makes it new, and its own trades
    # in the same command may fill it at once. Cancelled (by its owner, or as the other leg of
    # an OCO), expired (GTD, or a triggered market order that found no liquidity).
    S.UNTRIGGERED: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.CANCELLED, S.EXPIRED}),
}


LIST_TRANSITIONS: Table = {
    LS.EXECUTING: frozenset({LS.ALL_DONE}),
}


def order_may_become(current: str, new: str | None) -> bool:
    """Whether an event may give an order in ``current`` the status ``new``. ``new`` None, or
    ``current`` itself, is no move (a fill that leaves it partially filled, an amend): allowed
    only while the order is open, that is, while ``current`` is not terminal."""
    allowed = ORDER_TRANSITIONS.get(current)
    return allowed is not None and (new is None or new == current or new in allowed)


def order_may_become_sql(current: str, new: str) -> str:
    """``order_may_become`` as a SQL condition on the column expressions ``current`` and
    ``new`` (``new`` NULL: no move), for the persister's bulk UPDATE."""
    cases = []
    for status, targets in sorted(ORDER_TRANSITIONS.items()):
        listed = ", ".join(f"'{s}'" for s in sorted({status, *targets}))
        cases.append(f"WHEN '{status}' THEN {new} IS NULL OR {new} IN ({listed})")
    return f"(CASE {current} {' '.join(cases)} ELSE false END)"
