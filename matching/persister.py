"""The persister: the matcher's events -> Postgres projections, exactly once.

Each batch of event entries is written in ONE database transaction together with the shard's
checkpoint (the last event seq applied). Events at or below the checkpoint are skipped, so a
batch redelivered after a crash (committed, but its XACK lost) changes nothing. Only after the
commit does it tell Redis how far it got (``ex:{s}:persisted``, which read-your-writes waits on),
drop the "pending" placeholders of the orders it wrote, and ack the entries.

The projections themselves live with their models: ``accounts.ledger`` (balances, ledger,
transfers) and ``trading.projections`` (orders, trades, market status).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts import ledger
from marketdata import projections as marketdata_projections
from matching.errors import RejectReason
from matching.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from matching.transport import PERSISTER_GROUP, EventBatch, EventReader, shard_keys
from trading import projections
from trading.models import EventCheckpoint

log = logging.getLogger(__name__)


class PersisterError(RuntimeError):
    """The database and the event log disagree; running on would lose events silently."""


START_FRESH = (
    "For a development venue on ./scripts/run's defaults (SQLite and the embedded Redis, both in"
    " var/), start fresh with: ./scripts/run --reset-local-data (it asks before deleting var/)."
    " Otherwise point DATABASE_URL and REDIS_URL back at the database and Redis that belong"
    " together, or restore Redis from its append-only file (docs/reliability.md, 'Refusing to"
    " run on a broken history')."
)


@dataclass(slots=True)
class PersisterStats:
    batches: int = 0
    events: int = 0
    skipped: int = 0
    last_seq: int = 0
    started: float = field(default_factory=time.monotonic)


# The checkpoint row is read and written once per transaction, in SQL written out: through the
# ORM (a locking get, then save) it was a tenth of the persister's CPU at the live batch sizes.
_CHECKPOINT = EventCheckpoint._meta.db_table


def _lock_checkpoint(shard: str) -> int:
    """The shard's checkpoint seq, its row locked until the transaction ends (SQLite has no
    row locks: its writers are serialised by the database lock instead)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT last_seq FROM "{_CHECKPOINT}" WHERE stream = %s{lock}',  # noqa: S608
            [shard],
        )
        row = cursor.fetchone()
    if row is None:
        raise PersisterError(f"no checkpoint row for {shard}: setup() creates it")
    return int(row[0])


def _save_checkpoint(shard: str, seq: int, cmd_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{_CHECKPOINT}" SET last_seq = %s, last_cmd_id = %s, updated_at = %s'  # noqa: S608
            " WHERE stream = %s",
            [seq, cmd_id, timezone.now(), shard],
        )


class Persister:
    def __init__(
        self,
        reader: EventReader,
        *,
        batch_entries: int = 200,
        block_ms: int = 200,
        linger_ms: int = 0,
    ):
        self.reader = reader
        self.shard = reader.keys.shard
        self.batch_entries = batch_entries
        self.block_ms = block_ms
        # Wait up to this long for more entries before writing a batch (see ``_gather``).
        self.linger_ms = linger_ms
        self.stats = PersisterStats()

    def setup(self) -> None:
        self.reader.setup()
        checkpoint, _ = EventCheckpoint.objects.get_or_create(stream=self.shard)
        produced = int(self.reader.client.hget(shard_keys(self.shard).progress, "seq") or 0)
        if checkpoint.last_seq > produced:
            # Redis lost the matcher's log (or this is another venue's database): every new
            # event would look already applied and be skipped. Refuse rather than drop them.
            raise PersisterError(
                f"the database has shard {self.shard}'s events up to seq {checkpoint.last_seq},"
                f" but the matcher's log in Redis only reaches seq {produced}: the database and"
                f" Redis are from different histories (Redis was reset or replaced). {START_FRESH}"
            )
        acked = self.reader.acked_seq()
        if acked is not None and acked > checkpoint.last_seq:
            # The log says events up to ``acked`` were written, and this database lacks them
            # (a new database beside an old Redis): they will never be read again.
            raise PersisterError(
                f"Redis says shard {self.shard}'s events up to seq {acked} were written to the"
                f" database, but this database has them only up to seq {checkpoint.last_seq}:"
                f" the database and Redis are from different histories (the database was reset"
                f" or replaced). {START_FRESH}"
            )
        self.stats.last_seq = checkpoint.last_seq

    def apply(self, batches: Sequence[EventBatch]) -> int:
        """Write a list of stream entries in one transaction; returns events applied."""
        if not batches:
            return 0
        with transaction.atomic():
            last_seq = _lock_checkpoint(self.shard)
            fresh: list[Event] = [
                ev for batch in batches for ev in batch.events if ev[0] > last_seq
            ]
            if fresh:
                ledger.apply_events(fresh, self.shard)
                projections.apply_events(fresh)
                # Candles commit with their trades: klines always agree with Postgres.
                marketdata_projections.apply_events(fresh)
                last_seq = fresh[-1][0]
            _save_checkpoint(self.shard, last_seq, batches[-1].cmd_last.decode())
        self._after_commit(batches, last_seq)
        self.stats.batches += 1
        self.stats.events += len(fresh)
        self.stats.skipped += sum(len(b.events) for b in batches) - len(fresh)
        self.stats.last_seq = last_seq
        return len(fresh)

    def _after_commit(self, batches: Sequence[EventBatch], seq: int) -> None:
        """Publish the checkpoint, drop the Redis copies the rows now stand in for, ack.

        A "pending" placeholder goes once its order's row is written, its "placed" copy once
        the order's end is. Taken from every event of the batches, not only the fresh ones: a
        batch redelivered after a crash between the commit and this step still drops them.
        """
        keys = shard_keys(self.shard)
        pipe = self.reader.client.pipeline(transaction=False)
        pipe.hset(keys.persisted, mapping={"seq": seq, "cmd_id": batches[-1].cmd_last})
        for batch in batches:
            for ev in batch.events:
                if type(ev) is OrderAccepted:
                    pipe.hdel(keys.pending(ev.account), str(ev.order_id))
                elif isinstance(ev, OrderFilled | OrderCancelled | OrderExpired):
                    pipe.hdel(keys.placed(ev.account), str(ev.order_id))
                elif type(ev) is OrderRejected and ev.reason != RejectReason.DUPLICATE_ORDER_ID:
                    pipe.hdel(keys.pending(ev.account), str(ev.order_id))
                    pipe.hdel(keys.placed(ev.account), str(ev.order_id))
        pipe.xack(keys.events, PERSISTER_GROUP, *[b.entry_id for b in batches])
        pipe.execute()

    def _gather(self) -> list[EventBatch]:
        """The next batch: what is waiting, plus what arrives while lingering.

        A transaction's fixed cost (its statements, the checkpoint, the commit) is most of the
        persister's and PostgreSQL's CPU per event in small batches, so after a read that was
        not full it waits up to ``linger_ms`` for more, unless a read-your-writes reader
        nudges it first (``CommandLog.nudge_persisters``): readers do not pay for the linger.
        """
        batches = self.reader.read(self.batch_entries, self.block_ms)
        if not batches or not self.linger_ms or len(batches) >= self.batch_entries:
            return batches
        self.reader.wait_nudge(self.linger_ms)
        batches.extend(self.reader.read(self.batch_entries - len(batches), None))
        return batches

    def lag(self) -> int:
        """Matcher events not yet committed to Postgres (in events, by seq)."""
        keys = shard_keys(self.shard)
        produced = self.reader.client.hget(keys.progress, "seq")
        return max(0, int(produced or 0) - self.stats.last_seq)

    def run(self, should_stop: Callable[[], bool], report_every_s: float = 10.0) -> None:
        self.setup()
        # Entries delivered before a crash and never acked come first, oldest first.
        while pending := self.reader.read(self.batch_entries, 0, pending=True):
            self.apply(pending)
        last_report = time.monotonic()
        while not should_stop():
            self.apply(self._gather())
            if time.monotonic() - last_report >= report_every_s:
                last_report = time.monotonic()
                log.info(
                    "persister %s: seq %s, lag %s events, %s batches",
                    self.shard,
                    self.stats.last_seq,
                    self.lag(),
                    self.stats.batches,
                )
