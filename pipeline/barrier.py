"""Barriers between the matcher and the database: wait until the persister has written what a
read must show.

``await_recorded`` is the barrier of a private read (or of a service that reads what it just
wrote); ``await_persisted`` the barrier of work that must see everything applied before it
started (statements, reconciliation). Both nudge the persisters they wait for, which then stop
lingering for bigger batches. The positions they compare are the command log's
(``CommandLog.barrier_positions``, ``MatcherClient.read_barrier``).
"""

from __future__ import annotations

import time

from django.conf import settings

from common.errors import Unavailable
from pipeline.client import matcher


def await_recorded(user_id: int, *, own_only: bool = False) -> None:
    """Return once the database records every command ``user_id`` sent and every batch the
    matcher has committed that changed ``user_id`` on another user's command (a fill of its
    resting order: when the taker is told ``filled``, the maker's next read shows it), waiting
    up to READ_YOUR_WRITES_TIMEOUT. Nothing else holds a read up, however far the persister
    lags.

    Past that, the read goes on only if what is missing is what the matcher has not applied
    yet (the caller's orders are shown from their "pending" placeholders, and nothing else
    changed). If the matcher has applied such a command and the persister has not committed it
    (the persister is down or far behind), the read answers 503 ``writes_not_persisted``
    rather than an older state as if it were current.

    ``own_only``: wait for ``user_id``'s own commands only, for a service that needs no more."""
    client = matcher()
    if client.read_barrier(user_id, settings.READ_YOUR_WRITES_TIMEOUT, own_only=own_only):
        raise Unavailable(
            "The latest writes are applied but not recorded yet (the persister is behind); "
            "retry shortly.",
            code="writes_not_persisted",
            retry_after=1,
        )


def await_persisted(seqs: dict[str, int] | None = None, timeout_s: float = 10.0) -> bool:
    """Wait until every shard's persister has written up to ``seqs`` (shard -> event seq;
    default: what each matcher has applied now). For work that must see everything applied
    before it started (statements, reconciliation), whoever sent it. False on timeout."""
    client = matcher()
    status = client.status()
    behind = dict(seqs) if seqs is not None else {s: int(v["seq"]) for s, v in status.items()}
    deadline = time.monotonic() + timeout_s
    while True:
        behind = {s: q for s, q in behind.items() if int(status[s]["persisted_seq"]) < q}
        if not behind:
            return True
        if time.monotonic() > deadline:
            return False
        client.log.nudge_persisters(list(behind))
        time.sleep(0.02)
        status = client.status()
