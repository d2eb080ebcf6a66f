"""The matcher process: the single writer of one shard's books and balances.

Loop: read a batch of commands from the shard's command stream (consumer group ``matcher``),
apply each to the engine, then publish the events, the replies and the acks in one Redis
transaction, with a "touched" marker for each maker of the batch's trades, each owner of an
order it triggered and each owner of a GTD order its Ticks expired (their private reads wait
for the batch to be recorded: MatcherClient.read_barrier). The loop never touches Postgres.

Recovery after any stop, including SIGKILL mid-batch:

1. Load the latest snapshot (engine state + the id of the last command it covers), or start
   empty.
2. Replay, silently, the logged commands after the snapshot up to ``progress.cmd_last``, the
   last command whose batch was committed. The engine is deterministic (timestamps come from
   the commands), so this rebuilds exactly the state those events described; its ``seq`` must
   land on ``progress.seq``, and recovery refuses to go on otherwise.
3. Process commands delivered before the crash but never acked (their batch never committed),
   then new ones. Nothing acknowledged to a caller is lost (it is in the log) and nothing is
   applied twice (a committed batch is never replayed with output).

GTD expiry: the engine reads no clock, so the matcher is its clock. After each batch, when the
engine's earliest GTD expiry (``MatchingEngine.next_expiry_ns``) is due by the wall clock and
no Tick of this process is still waiting in the log, it appends a ``Tick`` (ts: the clock now)
to its own command stream through ``CommandLog.submit``, like any sender. The Tick is applied
when the loop reads it, like any command: durable, in the log's order, so a replay expires the
same orders at the same place. While an expiry is near, the loop blocks on the log no longer
than until it is due. After a restart a Tick may be logged while an earlier one is still
unread: the second finds nothing due and emits nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from common.clock import now_ns
from matching import snapshot
from matching.commands import AddMarket, Command, Tick, UpdateMarket
from matching.engine import MatchingEngine
from matching.errors import EndReason
from matching.events import (
    BalanceChanged,
    BookChanged,
    Event,
    OrderExpired,
    OrderTriggered,
    TradeExecuted,
)
from matching.types import MarketSpec
from pipeline.matcher_transport import MatcherTransport
from pipeline.packing import pack_events, unpack_command
from pipeline.streams import stream_id_key
from pipeline.transport import CommandLog

log = logging.getLogger(__name__)

GTD_EXPIRED = EndReason.GTD_EXPIRED


class RecoveryError(RuntimeError):
    """The log and the snapshot disagree: refuse to run rather than diverge."""


@dataclass(slots=True)
class MatcherStats:
    commands: int = 0
    events: int = 0
    batches: int = 0
    malformed: int = 0
    replayed: int = 0
    since_snapshot: int = 0


class Matcher:
    def __init__(
        self,
        transport: MatcherTransport,
        fee_account: int,
        *,
        batch_size: int = 1000,
        block_ms: int = 200,
        snapshot_every: int = 100_000,
        depth_levels: int = 1000,
        clock: Callable[[], int] = now_ns,
    ) -> None:
        self.transport = transport
        self.fee_account = fee_account
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.snapshot_every = snapshot_every
        self.depth_levels = depth_levels
        self.engine = MatchingEngine(fee_account=fee_account)
        self.last_cmd: bytes | None = None
        self.stats = MatcherStats()
        self.clock = clock  # ns; what decides when a GTD expiry is due (a Tick's ts)
        # The log entry id of the Tick this process appended and has not applied yet: at most
        # one in flight.
        self.tick_in_flight: bytes | None = None
        self.ticks_logged = 0

    # -- recovery -------------------------------------------------------------------------

    def recover(self) -> None:
        self.transport.setup()
        snap = self.transport.load_snapshot()
        after: bytes | None = None
        if snap is not None:
            self.engine = snapshot.load(snap["engine"])
            after = snap["cmd_id"].encode()
            if self.engine.seq != snap["seq"]:
                raise RecoveryError("snapshot seq does not match its engine state")
        self.last_cmd = after
        progress = self.transport.progress()
        if progress is None:
            return
        seq, cmd_last = progress
        if after is None or stream_id_key(cmd_last) > stream_id_key(after):
            for _entry_id, fields in self.transport.command_range(after, cmd_last):
                self._apply_entry(fields)
                self.stats.replayed += 1
        if self.engine.seq != seq:
            raise RecoveryError(
                f"replay reached seq {self.engine.seq}, the log says {seq}: refusing to diverge"
            )
        self.last_cmd = cmd_last
        log.info("recovered to seq %s (replayed %s commands)", seq, self.stats.replayed)

    def sync_markets(self, specs: Iterable[MarketSpec], now_ns: int, *, update: bool = True) -> int:
        """Send AddMarket/UpdateMarket for configured markets the engine lacks or differs on.

        They go through the log like any command, so a replay sees them too. The status is the
        engine's own (halts are commands), so it is not compared. ``update=False``: add missing
        markets only, and log the ones that differ (the rows may merely lag the engine: they
        are the persister's projection of its market events, trading/projections.py).
        """
        sender = self._sender()
        sent = 0
        for spec in specs:
            current = self.engine.market(spec.symbol)
            cmd: Command
            if current is None:
                cmd = AddMarket(f"sync-{spec.symbol}-{now_ns}", now_ns, spec)
            elif _without_status(current) != _without_status(spec):
                if not update:
                    log.warning(
                        "market %s: its row differs from the engine's, which stands (the"
                        " persister has not recorded every market event yet)",
                        spec.symbol,
                    )
                    continue
                cmd = UpdateMarket(f"sync-{spec.symbol}-{now_ns}", now_ns, spec)
            else:
                continue
            sender.submit(self.transport.keys.shard, cmd, wait_s=0)
            sent += 1
        return sent

    def _sender(self) -> CommandLog:
        return CommandLog(self.transport.client)

    # -- GTD expiry: the matcher's clock -----------------------------------------------------

    def log_due_tick(self) -> bool:
        """Append a ``Tick`` to this shard's command log when the earliest GTD expiry is due by
        the clock and no Tick of ours is in flight; True when one was appended."""
        if self.tick_in_flight is not None:
            return False
        due = self.engine.next_expiry_ns()
        if due is None:
            return False
        now = self.clock()
        if now < due:
            return False
        shard = self.transport.keys.shard
        sent = self._sender().submit(shard, Tick(f"tick:{shard}:{now}", now), wait_s=0)
        self.tick_in_flight = sent.entry_id.encode()
        self.ticks_logged += 1
        return True

    def block_ms_now(self) -> int:
        """How long the next read may wait for commands: ``block_ms``, or less when a GTD
        expiry falls due before that (at least 1: 0 would mean "forever" to XREADGROUP)."""
        if self.tick_in_flight is not None:
            return self.block_ms
        due = self.engine.next_expiry_ns()
        if due is None:
            return self.block_ms
        wait_ms = (due - self.clock()) // 1_000_000 + 1
        return max(1, min(self.block_ms, wait_ms))

    # -- the loop ---------------------------------------------------------------------------

    def _apply_entry(self, fields: dict[bytes, bytes]) -> tuple[Command | None, list[Event]]:
        try:
            cmd = unpack_command(fields[b"c"])
        except (KeyError, ValueError) as exc:
            # Only a bug or a hand-written entry gets here: the API validates before sending.
            self.stats.malformed += 1
            log.error("skipping malformed command: %s", exc)
            return None, []
        return cmd, self.engine.apply(cmd)

    def process(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
        """Apply a batch and commit its outputs; entries already covered are only acked."""
        if not entries:
            return 0
        batch_events: list[Event] = []
        replies: list[tuple[str, bytes]] = []
        acks: list[bytes] = []
        last = self.last_cmd
        for entry_id, fields in entries:
            acks.append(entry_id)
            if last is not None and stream_id_key(entry_id) <= stream_id_key(last):
                continue  # committed before a crash, only the ack was lost
            cmd, events = self._apply_entry(fields)
            last = entry_id
            batch_events.extend(events)
            if cmd is not None and fields.get(b"r") == b"1":
                replies.append((cmd.command_id, pack_events(reply_events(events))))
        if last is None:
            last = entries[-1][0]
        in_flight = self.tick_in_flight
        if in_flight is not None and stream_id_key(entries[-1][0]) >= stream_id_key(in_flight):
            self.tick_in_flight = None  # our Tick is applied (or was, before a crash)
        # The books this batch changed, as of its end: what GET /depth serves, consistent
        # with the BookChanged diffs by update id. And the accounts it changed on someone
        # else's command, the makers of its trades, the owners of the orders it triggered (the
        # order then trades, rests or expires, and its OCO's other leg ends) and the owners of
        # the GTD orders a Tick expired: their next private read waits until this batch is recorded
        # (MatcherClient.read_barrier), as the sender's own does.
        changed = set()
        touched = set()
        for ev in batch_events:
            kind = type(ev)
            if kind is BookChanged:
                changed.add(ev.symbol)  # type: ignore[union-attr]
            elif kind is TradeExecuted:
                touched.add(ev.maker_account)  # type: ignore[union-attr]
            elif kind is OrderTriggered or (
                kind is OrderExpired and ev.reason is GTD_EXPIRED  # type: ignore[union-attr]
            ):
                touched.add(ev.account)  # type: ignore[union-attr]
        depths = [self.engine.depth(symbol, self.depth_levels) for symbol in sorted(changed)]
        self.transport.commit_batch(
            batch_events, last, self.engine.seq, replies, acks, depths, touched=sorted(touched)
        )
        self.last_cmd = last
        self.stats.batches += 1
        self.stats.commands += len(entries)
        self.stats.events += len(batch_events)
        self.stats.since_snapshot += len(entries)
        if self.stats.since_snapshot >= self.snapshot_every:
            self.save_snapshot()
        return len(entries)

    def save_snapshot(self) -> None:
        if self.last_cmd is None:
            return
        started = time.perf_counter()
        self.transport.save_snapshot(self.last_cmd, self.engine.seq, snapshot.dump(self.engine))
        self.stats.since_snapshot = 0
        log.info("snapshot at seq %s in %.3fs", self.engine.seq, time.perf_counter() - started)

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Recover first; then drain what was delivered but not acked; then new commands."""
        # Pending entries exist only after a crash: every batch is acked in its own commit.
        while self.process(self.transport.read_batch(self.batch_size, 0, pending=True)):
            pass
        beat = 0.0
        while not should_stop():
            self.process(self.transport.read_batch(self.batch_size, self.block_ms_now()))
            self.log_due_tick()
            if time.monotonic() - beat >= 1.0:
                beat = time.monotonic()
                self.transport.heartbeat(self.engine.seq)
        if self.stats.since_snapshot:
            self.save_snapshot()
        # Stopped on purpose: say so at once, rather than look alive until the beat expires
        # (a restart is then seen as up only once the new process beats).
        self.transport.clear_heartbeat()


def reply_events(events: Sequence[Event]) -> list[Event]:
    """What a waiting sender gets: its command's events minus balance and book changes, which
    no reply reads (an order's, a cancel's or a transfer's outcome is in the others) and which
    are most of them: packed and decoded once more per order, they cost the matcher and the
    web worker more than the rest of the reply."""
    return [ev for ev in events if type(ev) is not BalanceChanged and type(ev) is not BookChanged]


def _without_status(spec: MarketSpec) -> tuple[object, ...]:
    return (
        spec.symbol,
        spec.base,
        spec.quote,
        spec.tick_size,
        spec.lot_size,
        spec.min_notional,
        spec.maker_fee_rate,
        spec.taker_fee_rate,
    )
