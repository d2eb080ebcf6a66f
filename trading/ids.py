"""Order ids, assigned by the web process before the command is sent.

Each process reserves blocks of ``BLOCK`` ids from the database (one INSERT into
``OrderIdBlock``, whose auto-increment never reuses a value, on Postgres and SQLite alike) and
hands them out from memory. Ids are unique across processes and restarts, roughly increasing,
and cost one database round trip per ``BLOCK`` orders. Unused ids of a stopped process are
simply skipped.
"""

from __future__ import annotations

import threading

from django.db import transaction

from trading.models import OrderIdBlock

BLOCK = 1000

_lock = threading.Lock()
_next = 0
_end = 0


def next_order_id() -> int:
    global _next, _end
    with _lock:
        if _next >= _end:
            with transaction.atomic():
                block = OrderIdBlock.objects.create()
                OrderIdBlock.objects.filter(pk=block.pk).delete()
            _next, _end = block.pk * BLOCK, (block.pk + 1) * BLOCK
        order_id = _next
        _next += 1
        return order_id
