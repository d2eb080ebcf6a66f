"""What the services call to reach the matcher: routing, submit-and-wait, read barriers.

A service builds a command (integers already validated through ``matching.arith``), sends it with
``matcher().send(shard, cmd, guards)`` and gets either the engine's events for it (the matcher
answered within the reply timeout) or ``None`` (the command is durable in the log and will be
processed; the API answers 202). ``SubmitGuards`` says what the command's one round trip checks
and records besides appending it (an order write's are built in one place,
``trading.services.writer.OrderWriter``). Nothing here decides business rules.

Shards: ``MATCHER_SHARDS`` (settings/env) is ``"s0=SOL_USDC,BTC_USDC;s1=ETH_USDC"``; a shard
listed with ``*`` takes every market not named elsewhere. The default is one shard, ``s0=*``.
Deposits and withdrawals go to the first shard listed (the funding shard).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings

from matching.arith import MAX_SHARDS
from matching.commands import Command
from matching.engine import Depth
from matching.events import Event
from pipeline import wire
from pipeline.transport import CommandLog, connect, stream_id_key
from pipeline.transport import KeyCheck as KeyCheck  # accounts.authentication builds them
from pipeline.transport import RateLimit as RateLimit  # accounts.throttling builds them
from pipeline.transport import SubmitGuards as SubmitGuards  # trading.services.writer builds them


@dataclass(frozen=True, slots=True)
class ShardMap:
    shards: tuple[str, ...]
    owner: dict[str, str]
    default: str | None

    @classmethod
    def parse(cls, text: str) -> ShardMap:
        shards: list[str] = []
        owner: dict[str, str] = {}
        default: str | None = None
        for part in filter(None, (p.strip() for p in text.split(";"))):
            name, _, markets = part.partition("=")
            name = name.strip()
            if not name or name in shards:
                raise ValueError(f"bad MATCHER_SHARDS entry: {part!r}")
            shards.append(name)
            for symbol in filter(None, (m.strip() for m in markets.split(","))):
                if symbol == "*":
                    default = name
                elif symbol in owner:
                    raise ValueError(f"market {symbol} is in two shards")
                else:
                    owner[symbol] = name
        if not shards:
            raise ValueError("MATCHER_SHARDS names no shard")
        if len(shards) > MAX_SHARDS:
            # a Balance row sums a user's shards; the bound on amounts relies on at most 10
            raise ValueError(f"MATCHER_SHARDS names more than {MAX_SHARDS} shards")
        return cls(tuple(shards), owner, default)

    def for_market(self, symbol: str) -> str:
        shard = self.owner.get(symbol, self.default)
        if shard is None:
            raise LookupError(f"no matcher shard owns {symbol}")
        return shard

    def owns(self, shard: str, symbol: str) -> bool:
        return self.owner.get(symbol, self.default) == shard

    @property
    def funding(self) -> str:
        return self.shards[0]


@cache
def shard_map() -> ShardMap:
    return ShardMap.parse(settings.MATCHER_SHARDS)


def new_command_id() -> str:
    return uuid.uuid4().hex


def now_ns() -> int:
    return time.time_ns()


StreamId = tuple[int, int]
_NONE: StreamId = (0, 0)


@dataclass(frozen=True, slots=True)
class Position:
    """One shard as a reader's barrier sees it, as stream ids ((0, 0): nothing yet)."""

    wrote: StreamId  # the reader's newest command on the shard
    touched: StreamId  # the newest batch that changed the reader on another's command
    persisted: StreamId  # what the persister has committed up to
    applied: StreamId  # what the matcher has applied and committed up to (progress.cmd_last)

    @classmethod
    def of(cls, *raw: bytes | None) -> Position:
        wrote, touched, persisted, applied = (
            _NONE if value is None else stream_id_key(value) for value in raw
        )
        return cls(wrote, touched, persisted, applied)

    def lacks(self) -> bool:
        """The database may not reflect one of the reader's own commands, or a batch that
        changed the reader (a fill of its resting order, on the taker's command)."""
        return self.persisted < self.wrote or self.persisted < self.touched

    def stale(self) -> bool:
        """Past the wait: the database lacks something the matcher has applied that the read
        must show (the read answers 503). A command of the reader's that the matcher has not
        applied yet is not missing from it: it is not done anywhere yet. (A touching batch is
        always applied: the matcher marks it in its commit.)"""
        return self.persisted < self.touched or self.persisted < min(self.wrote, self.applied)


@dataclass(frozen=True, slots=True)
class Sent:
    shard: str
    entry_id: str
    events: list[Event] | None  # None: durable but not answered within the timeout
    placed: dict[int, bytes] | None = None  # orders as placed, when asked (read_placed)
    throttled: bool = False  # refused by its rate limit: not sent
    switched_off: bool = False  # refused: its key check found the key or user switched off


class MatcherClient:
    def __init__(self, redis_url: str, reply_timeout_s: float) -> None:
        self.redis_url = redis_url
        self.log = CommandLog(connect(redis_url), wire.shared(redis_url))
        self.reply_timeout_s = reply_timeout_s

    def send(
        self,
        shard: str,
        cmd: Command,
        guards: SubmitGuards | None = None,
        *,
        user: int | None = None,
        wait: bool = True,
    ) -> Sent:
        """Append ``cmd`` to ``shard``'s command log with its ``guards``, in one round trip
        that also waits up to the reply timeout for its events (``wait``). ``user``: short
        for ``SubmitGuards(writer=user)``, a command whose only guard is its writer (deposits,
        transfers, operators' commands)."""
        if guards is None:
            guards = SubmitGuards(writer=user)
        elif user is not None:
            raise ValueError("send: the writer is given twice (user and guards.writer)")
        done = self.log.submit(shard, cmd, guards, wait_s=self.reply_timeout_s if wait else 0)
        return Sent(
            shard, done.entry_id, done.events, done.placed, done.throttled, done.switched_off
        )

    def read_barrier(
        self, user: int, timeout_s: float, shards: Sequence[str] = (), *, own_only: bool = False
    ) -> list[str]:
        """Wait until the database records what a private read of ``user`` must reflect, on
        every shard: every command ``user`` sent, and every batch the matcher has committed
        that changed ``user`` on another user's command (a fill of a resting order: the
        matcher marks its makers in the batch's own commit, ``MatcherTransport.commit_batch``).
        So a read that begins after the taker was told ``filled`` shows the fill. Waits up to
        ``timeout_s``.

        Returns the shards where the database may still lack something applied (empty: the
        read may go on). Past the wait, what only the matcher has not applied yet does not
        count: the user's unapplied orders show as pending, from their placeholders.

        ``own_only``: wait for ``user``'s own commands only.

        One round trip when nothing is missing, whatever the persister's lag: four HGETs per
        shard."""
        names = list(shards or shard_map().shards)
        deadline = time.monotonic() + timeout_s
        # Nudged, the persister commits within a few ms: poll at that pace. A 50 ms cap made a
        # read wait up to twice as long as the persister took.
        delay = 0.001
        nudged = False
        while True:
            now = {
                shard: Position.of(*raw)
                for shard, raw in zip(names, self.log.barrier_positions(names, user), strict=True)
            }
            if own_only:
                now = {s: dataclasses.replace(p, touched=_NONE) for s, p in now.items()}
            behind = [s for s in names if now[s].lacks()]
            if not behind:
                return []
            if time.monotonic() >= deadline:
                return [s for s in behind if now[s].stale()]
            if not nudged:
                # The persister lingers for bigger batches (PERSISTER_LINGER_MS); a reader
                # waiting on it cuts that short.
                self.log.nudge_persisters(behind)
                nudged = True
            names = behind
            time.sleep(delay)
            delay = min(delay * 2, 0.005)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per shard: matcher alive (heartbeat), its last seq, the persister's, and the lag."""
        return {shard: self.log.shard_status(shard) for shard in shard_map().shards}

    def depth(self, symbol: str) -> Depth | None:
        """The live book of ``symbol`` as of the matcher's last batch (None: never traded)."""
        return self.log.depth(shard_map().for_market(symbol), symbol)

    def pending_orders(self, user: int) -> dict[int, bytes]:
        return self.log.pending_orders(shard_map().shards, user)


_local = threading.local()


def matcher() -> MatcherClient:
    """One client per thread (the Redis pool is shared by threads in the process anyway)."""
    client: MatcherClient | None = getattr(_local, "client", None)
    # A settings change (tests point REDIS_URL at another server) gets a client of its own.
    if client is None or client.redis_url != settings.REDIS_URL:
        client = MatcherClient(settings.REDIS_URL, settings.ORDER_REPLY_TIMEOUT)
        _local.client = client
    return client
