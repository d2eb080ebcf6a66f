"""The persister: the matcher's events -> Postgres projections, exactly once.

Each batch of event entries is written in ONE database transaction together with the shard's
checkpoint (the last event seq applied). Events at or below the checkpoint are skipped, so a
batch redelivered after a crash (committed, but its XACK lost) changes nothing. Only after the
commit does it tell Redis how far it got (``ex:{s}:persisted``, which read-your-writes waits on),
drop the "pending" placeholders of the orders it wrote, and ack the entries.

The projections themselves live with their models: ``accounts.ledger`` (balances, ledger,
transfers) and ``trading.projections`` (orders, trades, market status). Below the checkpoint
they guard each row themselves: an order or balance skips an event at or below its
``last_event_seq``, and a status move its transition table forbids raises
``accounts.transitions.IllegalTransition``, which halts the shard like any poisoned event.

**A poisoned event** (docs/reliability.md). A batch that fails with anything but an outage
(the database or Redis unreachable: retried with a backoff, for as long as it lasts) is tried
``POISON_ATTEMPTS`` times, then entry by entry: the entries before the failing one commit, and
the shard's persistence *halts* on it. The halt names the event (its seq, type, command and the
error), is recorded in the shard's checkpoint row (so it survives restarts) and mirrored in Redis
(``ex:{s}:persister-halted``, which ``/api/v1/health`` reports), and is logged, again every
minute while it lasts. Nothing is acked past the checkpoint: the failing entry and the ones
after it stay pending in the consumer group (and in the stream: trimming keeps what a group
holds pending). The process keeps running (other shards, the matcher and reads go on; private
reads of users with unpersisted writes answer 503 writes_not_persisted) and waits for
``resume_persister``, which first checks that the entry now applies, in a transaction it rolls
back, then clears the halt; the persister then applies the pending entries, each exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from accounts import ledger
from common.clock import datetime_to_ms
from marketdata import projections as marketdata_projections
from matching.errors import RejectReason
from matching.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderListAccepted,
    OrderListDone,
    OrderListRejected,
    OrderRejected,
)
from pipeline.event_reader import EventReader
from pipeline.keys import shard_keys
from pipeline.streams import PERSISTER_GROUP, EventBatch
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


OUTAGES = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)
"""Failures of a backing service, not of an event: retried for as long as they last."""

POISON_ATTEMPTS = 3
"""A batch failing this many times running (not by an outage) halts the shard's persistence."""

HALT_LOG_EVERY_S = 60.0
_OUTAGE_BACKOFF_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Halt:
    """Why a shard's persistence stopped: the first event that failed, and how."""

    shard: str
    seq: int
    entry_id: str
    reason: str
    since: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "reason": self.reason,
            "since": datetime_to_ms(self.since),
        }


def _halt_key(shard: str) -> str:
    return shard_keys(shard).persister_halted


def halt_of(shard: str) -> Halt | None:
    """The shard's halt as its checkpoint row records it, or None."""
    row = EventCheckpoint.objects.filter(stream=shard, halted_at__isnull=False).first()
    if row is None or row.halted_at is None:
        return None
    return Halt(shard, row.halted_seq or 0, row.halted_entry, row.halt_reason, row.halted_at)


def _mirror(client: redis.Redis, halt: Halt | None, shard: str) -> None:
    """The halt in Redis, for the health check (which reads no table)."""
    if halt is None:
        client.delete(_halt_key(shard))
    else:
        fields: dict[Any, Any] = halt.as_dict()
        client.hset(_halt_key(shard), mapping=fields)


def _describe(event: Event | None, exc: BaseException) -> str:
    error = f"{type(exc).__name__}: {exc}".strip()[:1500]
    if event is None:
        return error
    return f"{type(event).__name__} seq {event[0]} (command {event[1]}): {error}"


class _Rollback(Exception):
    """Raised to roll back a trial transaction."""


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
        self.halt: Halt | None = None
        self._halt_logged = 0.0

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
        self.halt = halt_of(self.shard)
        _mirror(self.reader.client, self.halt, self.shard)
        if self.halt is not None:
            self._log_halt()

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
                self._project(fresh)
                last_seq = fresh[-1][0]
            _save_checkpoint(self.shard, last_seq, batches[-1].cmd_last.decode())
        self._after_commit(batches, last_seq)
        self.stats.batches += 1
        self.stats.events += len(fresh)
        self.stats.skipped += sum(len(b.events) for b in batches) - len(fresh)
        self.stats.last_seq = last_seq
        return len(fresh)

    def _project(self, events: Sequence[Event]) -> None:
        ledger.apply_events(events, self.shard)
        projections.apply_events(events)
        # Candles commit with their trades: klines always agree with Postgres.
        marketdata_projections.apply_events(events)

    def trial(self, batches: Sequence[EventBatch]) -> tuple[Event | None, Exception] | None:
        """Apply ``batches`` in a transaction that is rolled back: None if they apply, else
        the first event that fails (each in its own savepoint, in order; None if only the
        whole fails) and its error. Changes nothing."""
        failed: tuple[Event | None, Exception] | None = None
        try:
            with transaction.atomic():
                last_seq = _lock_checkpoint(self.shard)
                fresh = [ev for b in batches for ev in b.events if ev[0] > last_seq]
                try:
                    with transaction.atomic():
                        self._project(fresh)
                except OUTAGES:
                    raise
                except Exception as whole:
                    failed = (None, whole)
                    for ev in fresh:
                        try:
                            with transaction.atomic():
                                self._project([ev])
                        except OUTAGES:
                            raise
                        except Exception as exc:
                            failed = (ev, exc)
                            break
                raise _Rollback
        except _Rollback:
            pass
        return failed

    def apply_or_halt(self, batches: Sequence[EventBatch], should_stop: Callable[[], bool]) -> None:
        """``apply``, retried through outages; a batch that keeps failing otherwise is applied
        entry by entry up to the one that fails, and the shard's persistence halts there."""
        if not batches:
            return
        failures = 0
        backoff = 0.1
        while not should_stop():
            try:
                self.apply(batches)
                return
            except OUTAGES as exc:  # the database or Redis is away: not the event's fault
                log.warning("persister %s: %r; retrying in %.1f s", self.shard, exc, backoff)
                connection.close()  # a broken connection is reopened on next use
                time.sleep(backoff)
                backoff = min(backoff * 2, _OUTAGE_BACKOFF_MAX_S)
            except Exception as exc:
                failures += 1
                log.warning(
                    "persister %s: batch of %s entries failed (%s of %s): %r",
                    self.shard,
                    len(batches),
                    failures,
                    POISON_ATTEMPTS,
                    exc,
                )
                if failures >= POISON_ATTEMPTS:
                    break
                time.sleep(0.2 * failures)
        else:
            return
        for batch in batches:  # the entries before the failing one commit
            try:
                self.apply([batch])
            except OUTAGES:
                return  # the next round retries the pending entries
            except Exception as exc:
                self._halt(batch, exc)
                return

    def _halt(self, batch: EventBatch, exc: Exception) -> None:
        found = self.trial([batch])
        event, error = found if found is not None else (None, exc)
        seq = event[0] if event is not None else batch.first_seq
        halt = Halt(
            self.shard, seq, batch.entry_id.decode(), _describe(event, error), timezone.now()
        )
        EventCheckpoint.objects.filter(stream=self.shard).update(
            halted_at=halt.since,
            halted_seq=halt.seq,
            halted_entry=halt.entry_id,
            halt_reason=halt.reason,
        )
        _mirror(self.reader.client, halt, self.shard)
        self.halt = halt
        self._halt_logged = 0.0
        self._log_halt()

    def _log_halt(self) -> None:
        halt = self.halt
        if halt is None:
            return
        self._halt_logged = time.monotonic()
        log.error(
            "PERSISTENCE HALTED for shard %s at event seq %s (events entry %s): %s -- The matcher"
            " and reads go on; nothing after seq %s is written to the database until an"
            " operator fixes the cause and runs `python manage.py resume_persister --shard %s`"
            " (docs/reliability.md, 'A poisoned event').",
            halt.shard,
            halt.seq,
            halt.entry_id,
            halt.reason,
            self.stats.last_seq,
            halt.shard,
        )

    def _wait_for_resume(self, should_stop: Callable[[], bool]) -> None:
        """While halted: look for the operator's resume every second, log every minute."""
        deadline = time.monotonic() + 1.0
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            halt = halt_of(self.shard)
        except OUTAGES:
            connection.close()
            return
        if halt is None:
            log.warning("persister %s: resumed by an operator", self.shard)
            self.halt = None
            _mirror(self.reader.client, None, self.shard)
        elif time.monotonic() - self._halt_logged >= HALT_LOG_EVERY_S:
            self._log_halt()

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
                elif isinstance(ev, OrderListAccepted | OrderListDone | OrderListRejected):
                    self._drop_list_copies(pipe, keys, ev)
        pipe.xack(keys.events, PERSISTER_GROUP, *[b.entry_id for b in batches])
        pipe.execute()

    @staticmethod
    def _drop_list_copies(
        pipe: Any, keys: Any, ev: OrderListAccepted | OrderListDone | OrderListRejected
    ) -> None:
        """An order list's copies are kept under its id negated (trading.services.lists):
        pending until its row is written, placed until it is done. A refused list's legs
        never get an event of their own: their copies go with it."""
        key = str(-ev.list_id)
        if isinstance(ev, OrderListAccepted):
            pipe.hdel(keys.pending(ev.account), key)
        elif isinstance(ev, OrderListDone):
            pipe.hdel(keys.placed(ev.account), key)
        elif ev.reason != RejectReason.DUPLICATE_LIST_ID:
            legs = (key, str(ev.limit_order_id), str(ev.stop_order_id))
            pipe.hdel(keys.pending(ev.account), *legs)
            pipe.hdel(keys.placed(ev.account), *legs)

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
        drained = False
        last_report = time.monotonic()
        while not should_stop():
            if self.halt is not None:
                self._wait_for_resume(should_stop)
                drained = False
                continue
            if not drained:
                # Entries delivered before a crash (or a halt) and never acked come first,
                # oldest first.
                pending = self.reader.read(self.batch_entries, 0, pending=True)
                if pending:
                    self.apply_or_halt(pending, should_stop)
                else:
                    drained = True
                continue
            self.apply_or_halt(self._gather(), should_stop)
            if time.monotonic() - last_report >= report_every_s:
                last_report = time.monotonic()
                log.info(
                    "persister %s: seq %s, lag %s events, %s batches",
                    self.shard,
                    self.stats.last_seq,
                    self.lag(),
                    self.stats.batches,
                )


class ResumeRefused(RuntimeError):
    """The halted entry still fails: resuming would only halt again."""


def resume(shard: str, client: redis.Redis, *, check_only: bool = False) -> str:
    """Resume a halted shard's persistence, once its halted entry applies again.

    The entry is applied in a transaction that is rolled back (as the persister would, after
    its checkpoint); if it still fails, :class:`ResumeRefused` says why and nothing changes.
    Otherwise the halt is cleared: the persister (polling its checkpoint row every second)
    applies every pending entry from that one on, each exactly once."""
    halt = halt_of(shard)
    if halt is None:
        return f"persistence of {shard} is not halted"
    reader = EventReader(client, shard, PERSISTER_GROUP, "resume-check")
    batch = reader.entry(halt.entry_id)
    if batch is not None:
        failed = Persister(reader).trial([batch])
        if failed is not None:
            raise ResumeRefused(f"still failing: {_describe(*failed)}")
    # (an entry gone from the stream was acked: a persister applied it after all)
    if check_only:
        return f"the halted entry {halt.entry_id} of {shard} now applies"
    EventCheckpoint.objects.filter(stream=shard).update(
        halted_at=None, halted_seq=None, halted_entry="", halt_reason=""
    )
    _mirror(client, None, shard)
    log.warning("persistence of %s resumed at event seq %s", shard, halt.seq)
    return f"persistence of {shard} resumed at event seq {halt.seq}"
