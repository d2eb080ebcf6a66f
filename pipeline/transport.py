"""The command log: what a sender (``pipeline.client``) uses to append a command to a shard's
log and wait for its events, in one round trip, and to read what the pipeline keeps for
readers (read-your-writes positions, placeholders, depths, each shard's status).

The submit is one Lua script (``pipeline/lua/submit.lua``): the request's guards (API-key
markers, the orders throttle), the append, and the read-your-writes bookkeeping in one atomic
step. Keys: ``pipeline.keys``; replies and streams: ``pipeline.matcher_transport``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis

from matching.commands import Command
from matching.engine import Depth
from matching.events import Event

# Each ``X as X`` below is a name that lived here before the split, still importable from here
# while the parallel branches of issue 18 merge; new code imports it from its own module.
from pipeline.event_reader import EventReader as EventReader
from pipeline.keys import ShardKeys as ShardKeys
from pipeline.keys import shard_keys
from pipeline.matcher_transport import MatcherTransport as MatcherTransport
from pipeline.packing import pack_command, unpack_depth, unpack_events
from pipeline.packing import pack_depth as pack_depth
from pipeline.packing import pack_events as pack_events
from pipeline.packing import unpack_command as unpack_command
from pipeline.scripts import SUBMIT
from pipeline.streams import MATCHER_GROUP, group_backlog, pairs
from pipeline.streams import PERSISTER_GROUP as PERSISTER_GROUP
from pipeline.streams import PUBLISHER_GROUP as PUBLISHER_GROUP
from pipeline.streams import EventBatch as EventBatch
from pipeline.streams import parse_event_entry as parse_event_entry
from pipeline.streams import stream_id_key as stream_id_key
from pipeline.wire import MIN_REDIS_VERSION as MIN_REDIS_VERSION
from pipeline.wire import RedisTooOld as RedisTooOld
from pipeline.wire import Wire
from pipeline.wire import connect as connect
from pipeline.wire import raise_if_error as raise_if_error
from pipeline.wire import require_supported_server as require_supported_server
from pipeline.wire import server_version as server_version


def _placeholders(reply: Any) -> dict[int, bytes]:
    """An HGETALL of a "pending" hash (a dict from redis-py, a flat list from hiredis)."""
    found = reply.items() if isinstance(reply, dict) else pairs(reply).items()
    return {int(order_id): payload for order_id, payload in found}


class RateLimit(NamedTuple):
    """A fixed-window request counter the command's own round trip increments (``rate_counter``
    of the submit script): past ``limit`` the command is not appended
    (accounts/throttling.py)."""

    key: str
    limit: int
    ttl_s: int


class KeyCheck(NamedTuple):
    """The API key a command is sent with, checked for a switched-off marker by the command's
    own submit (``key_off`` and ``user_off`` of the submit script; accounts/key_cache.py)."""

    key_id: str
    user_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class SubmitGuards:
    """What the submit of one command checks and records with it, in the command's own round
    trip (one Redis script: the checks refuse before anything is appended).

    Checks, in this order:
    - ``key_check``: the caller's API key or user has a switched-off marker on the shard (it was
      revoked or deactivated since this process cached it): nothing is appended, ``Sent``
      says ``switched_off`` (accounts/key_cache.py).
    - ``rate_limit``: count the request in its fixed window; past the limit nothing is
      appended, ``Sent`` says ``throttled`` (accounts/throttling.py).

    Records, with the append:
    - ``writer``: the command is this user's newest write on the shard: the read-your-writes
      barrier waits for the persister to pass it (``MatcherClient.read_barrier``).
    - ``placeholder``: (order id, JSON of the order as placed): readers show the order
      "pending" until the persister writes it, and a cancel's reply shows it as placed.
    - ``more_placeholders``: more such pairs: an order list's legs, and the list itself
      under its id negated (trading.services.lists).

    And reads, after the reply: ``read_placed``, the writer's orders as placed on the shard
    (``True``: all, an order id: that one), for a cancel's reply.
    """

    writer: int | None = None
    placeholder: tuple[int, bytes] | None = None
    more_placeholders: tuple[tuple[int, bytes], ...] = ()
    read_placed: bool | int = False
    rate_limit: RateLimit | None = None
    key_check: KeyCheck | None = None


NO_GUARDS = SubmitGuards()


class Submitted(NamedTuple):
    entry_id: str  # the command is durable once submit returns
    events: list[Event] | None  # None: not answered within the wait
    # With ``read_placed``: the user's orders on this shard as placed ("placed" hash), read
    # right after the reply arrived (order id -> JSON); None otherwise or unanswered.
    placed: dict[int, bytes] | None = None
    # Refused by its rate limit: nothing was appended (``entry_id`` is empty).
    throttled: bool = False
    # Refused because the caller's key or user was switched off: nothing was appended.
    switched_off: bool = False


class CommandLog:
    """What a sender uses: append a command and, optionally, wait for its events."""

    def __init__(self, client: redis.Redis, wire: Wire | None = None) -> None:
        self._client = client
        self._wire = wire  # the lean client for submit, when the caller has one (web)

    @property
    def client(self) -> redis.Redis:
        return self._client

    def submit(
        self, shard: str, cmd: Command, guards: SubmitGuards = NO_GUARDS, *, wait_s: float
    ) -> Submitted:
        """Append ``cmd`` with its ``guards`` (what the one round trip checks, records and reads
        besides the append: ``SubmitGuards``); with ``wait_s > 0`` also wait for its reply in
        the same round trip. A guard's refusal appends nothing: ``Submitted.throttled`` (the
        rate limit) or ``switched_off`` (the key check)."""
        user = guards.writer or 0  # a command with no writer records none ("user_field")
        read_placed, rate_limit, key_check = guards.read_placed, guards.rate_limit, guards.key_check
        keys = shard_keys(shard)
        order_id, order_json = guards.placeholder or ("", b"")
        reply_key = keys.reply(cmd.command_id)
        # The stream's name stands for a key a submit does not use: it keeps every key in
        # the shard's slot.
        submit = SUBMIT.eval(
            commands=keys.commands,
            writes=keys.writes(user),
            pending=keys.pending(user),
            rate_counter=rate_limit.key if rate_limit else keys.commands,
            reply=reply_key,
            placed=keys.placed(user),
            key_off=keys.key_off(key_check.key_id) if key_check else keys.commands,
            user_off=keys.user_off(key_check.user_id) if key_check else keys.commands,
            payload=pack_command(cmd),
            reply_flag=b"1" if wait_s > 0 else b"0",
            user_field="" if guards.writer is None else "last",
            order_id=order_id,
            order_json=order_json,
            rate_limit="" if rate_limit is None else rate_limit.limit,
            rate_ttl=0 if rate_limit is None else rate_limit.ttl_s,
            key_check="1" if key_check else "",
        )
        for extra_id, extra_json in guards.more_placeholders:
            submit += (extra_id, extra_json)
        wait = ("BLPOP", reply_key, wait_s)
        commands: tuple[tuple[Any, ...], ...] = (submit, wait) if wait_s > 0 else (submit,)
        read: tuple[Any, ...] | None = None
        if wait_s > 0 and read_placed is True:
            read = ("HGETALL", keys.placed(user))
        elif wait_s > 0 and read_placed is not False:
            read = ("HMGET", keys.placed(user), read_placed)
        if read is not None:
            commands += (read,)
        if self._wire is not None:
            results = self._wire.call(*commands, timeout_s=max(wait_s, 0) + 2.0)
            for result in results:
                if isinstance(result, Exception):
                    raise redis.ResponseError(str(result))
        else:
            pipe = self._client.pipeline(transaction=False)
            pipe.eval(*submit[1:])
            if wait_s > 0:
                pipe.blpop([reply_key], timeout=wait_s)
            if read is not None and read[0] == "HGETALL":
                pipe.hgetall(read[1])
            elif read is not None:
                pipe.hmget(read[1], [read[2]])
            results = pipe.execute()
        if results[0] is None:  # refused by its rate limit; the BLPOP got the empty entry
            return Submitted("", None, throttled=True)
        if results[0] == 0:  # the key or user was switched off; the BLPOP got the empty entry
            return Submitted("", None, switched_off=True)
        entry_id = results[0].decode()
        reply = results[1] if wait_s > 0 else None
        if reply is None:
            return Submitted(entry_id, None)
        placed = None
        if read is not None and read[0] == "HGETALL":
            placed = _placeholders(results[2])
        elif read is not None:
            found = results[2][0]
            placed = {} if found is None else {int(read[2]): found}
        return Submitted(entry_id, unpack_events(reply[1]), placed)

    def _hgets(self, fields: Sequence[tuple[str, str]]) -> list[Any]:
        """HGET of each (key, field), in one round trip."""
        if self._wire is not None:
            return list(self._wire.call(*(("HGET", key, field) for key, field in fields)))
        pipe = self._client.pipeline(transaction=False)
        for key, field in fields:
            pipe.hget(key, field)
        return list(pipe.execute())

    def barrier_positions(
        self, shards: Sequence[str], user: int
    ) -> list[tuple[bytes | None, bytes | None, bytes | None, bytes | None]]:
        """Per shard, in one round trip: the id of ``user``'s newest command there, the last
        command of the newest batch that touched ``user`` on someone else's command (None:
        none), the command id the persister has committed up to, and the matcher's
        ``cmd_last`` (None: nothing yet). What a private read waits on
        (``MatcherClient.read_barrier``)."""
        fields: list[tuple[str, str]] = []
        for shard in shards:
            keys = shard_keys(shard)
            fields += [
                (keys.writes(user), "last"),
                (keys.writes(user), "touched"),
                (keys.persisted, "cmd_id"),
                (keys.progress, "cmd_last"),
            ]
        got = self._hgets(fields)
        return [(got[i], got[i + 1], got[i + 2], got[i + 3]) for i in range(0, len(got), 4)]

    def nudge_persisters(self, shards: Sequence[str]) -> None:
        """Ask these shards' persisters to write what they hold now instead of lingering for a
        bigger batch (``EventReader.wait_nudge``); a list of one element, however many ask."""
        if self._wire is not None:
            commands: list[tuple[str | int, ...]] = []
            for shard in shards:
                key = shard_keys(shard).persist_now
                commands += [("LPUSH", key, 1), ("LTRIM", key, 0, 0)]
            self._wire.call(*commands)
        else:
            pipe = self._client.pipeline(transaction=False)
            for shard in shards:
                key = shard_keys(shard).persist_now
                pipe.lpush(key, 1)
                pipe.ltrim(key, 0, 0)
            pipe.execute()

    def shard_status(self, shard: str) -> dict[str, Any]:
        keys = shard_keys(shard)
        pipe = self._client.pipeline(transaction=False)
        pipe.exists(keys.heartbeat)
        pipe.hget(keys.progress, "seq")
        pipe.hget(keys.persisted, "seq")
        pipe.exists(keys.commands)
        pipe.hgetall(keys.persister_halted)
        alive, produced, persisted, has_log, halted = pipe.execute()
        seq, done = int(produced or 0), int(persisted or 0)
        return {
            # the event the shard's persistence halted on, or None (docs/reliability.md)
            "persister_halted": {k.decode(): v.decode() for k, v in halted.items()} or None,
            "matcher_alive": bool(alive),
            # commands appended but not yet applied and committed by the matcher
            "matcher_lag": group_backlog(self._client, keys.commands, MATCHER_GROUP)
            if has_log
            else 0,
            "seq": seq,
            "persisted_seq": done,
            "persister_lag": max(0, seq - done),
        }

    def depth(self, shard: str, symbol: str) -> Depth | None:
        raw: Any = self._client.get(shard_keys(shard).depth(symbol))
        return None if raw is None else unpack_depth(symbol, raw)

    def pending_orders(self, shards: Sequence[str], user: int) -> dict[int, bytes]:
        """Orders acknowledged to ``user`` whose events the persister has not written yet."""
        pipe = self._client.pipeline(transaction=False)
        for shard in shards:
            pipe.hgetall(shard_keys(shard).pending(user))
        found: dict[int, bytes] = {}
        for mapping in pipe.execute():
            found.update(_placeholders(mapping))
        return found
