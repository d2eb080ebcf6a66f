"""Allowed order status moves. A status not listed as a key is terminal.

The persister (issue 4) checks each event's status change here, so a late or replayed event can
never move a filled or cancelled order back to open.
"""

from __future__ import annotations

from accounts.transitions import Table
from trading.models import OrderStatus as S

ORDER_TRANSITIONS: Table = {
    S.PENDING: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED}),
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.CANCELLED, S.EXPIRED}),
}
