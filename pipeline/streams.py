"""Redis Streams, read one way: the consumer groups, stream ids, and the parsing of
XREADGROUP and XRANGE replies, for every reader (the matcher's command reads and replays, the
persister's and the publisher's event reads, the checks of what a group has been given).

Replies are hiredis's (``pipeline.wire``): an entry is ``[id, [field, value, ...]]``, turned
here into ``(id, {field: value})``. A pending entry trimmed away since its delivery comes back
with no fields (an empty dict).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import redis

from matching.events import Event
from pipeline.packing import unpack_events
from pipeline.wire import Wire, raise_if_error

MATCHER_GROUP = "matcher"
PERSISTER_GROUP = "persister"
PUBLISHER_GROUP = "publisher"
# Where Redis does not count a group's lag (6.2), it is counted here, up to this many entries.
LAG_COUNT_CAP = 10_000

Entry = tuple[bytes, dict[bytes, bytes]]


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


def entries(reply: Any) -> list[Entry]:
    """An XRANGE reply, or one stream's part of an XREADGROUP reply, as (id, fields)."""
    raise_if_error(reply)
    return [(entry_id, pairs(fields)) for entry_id, fields in reply or ()]


def read_group_command(
    stream: str, group: str, consumer: str, count: int, block_ms: int | None, pending: bool
) -> tuple[Any, ...]:
    """XREADGROUP of up to ``count`` new entries, waiting up to ``block_ms`` (None: no wait),
    or, with ``pending``, of those delivered to ``consumer`` before and not acked (no wait)."""
    cmd: tuple[Any, ...] = ("XREADGROUP", "GROUP", group, consumer, "COUNT", count)
    if not pending and block_ms is not None:
        cmd += ("BLOCK", block_ms)
    return (*cmd, "STREAMS", stream, "0" if pending else ">")


def group_entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply on one stream: [[stream, [entry, ...]]] or nil."""
    raise_if_error(reply)
    return entries(reply[0][1]) if reply else []


def read_group(
    wire: Wire,
    stream: str,
    group: str,
    consumer: str,
    count: int,
    block_ms: int | None,
    pending: bool = False,
) -> list[Entry]:
    cmd = read_group_command(stream, group, consumer, count, block_ms, pending)
    (reply,) = wire.call(cmd, timeout_s=(block_ms or 0) / 1000 + 5)
    return group_entries(reply)


def read_range(
    wire: Wire, stream: str, start: bytes | str, end: bytes | str, count: int | None = None
) -> list[Entry]:
    """XRANGE ``start`` ``end`` (``(id`` for exclusive, ``-``/``+`` for the ends)."""
    cmd: tuple[Any, ...] = ("XRANGE", stream, start, end)
    if count is not None:
        cmd += ("COUNT", count)
    (reply,) = wire.call(cmd)
    return entries(reply)


def entry_fields(wire: Wire, stream: str, entry_id: bytes | str) -> dict[bytes, bytes] | None:
    """The fields of entry ``entry_id``, or None if it is not (or no longer) in the stream."""
    found = read_range(wire, stream, entry_id, entry_id)
    return found[0][1] if found else None


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


def ensure_group(client: redis.Redis, stream: str, group: str, start: str = "0") -> None:
    try:
        client.xgroup_create(stream, group, id=start, mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def group_info(client: redis.Redis, stream: str, group: str) -> dict[str, Any] | None:
    """XINFO GROUPS of ``stream`` for ``group`` (None: no such stream or group)."""
    try:
        groups: Any = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream yet
        return None
    for info in groups:
        if info["name"] in (group, group.encode()):
            found: dict[str, Any] = info
            return found
    return None


def group_backlog(client: redis.Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` not yet delivered to ``group``, plus those delivered, not acked."""
    info = group_info(client, stream, group)
    if info is None:
        return 0
    lag = info.get("lag")
    if lag is None:  # Redis 6.2 reports no lag (7 neither after some deletions)
        last = info["last-delivered-id"]
        after = b"(" + (last if isinstance(last, bytes) else last.encode())
        # Only counted: the entries themselves are not read.
        lag = len(client.xrange(stream, min=after, count=LAG_COUNT_CAP))  # type: ignore[arg-type]
    return int(lag) + int(info.get("pending") or 0)


def delivered_seq(
    client: redis.Redis, events_stream: str, group: str, wire: Wire | None = None
) -> int | None:
    """The last event seq ``group`` was handed on an events stream (0: none; None: it cannot
    be told, the entry was trimmed away). ``wire``: the caller's lean client, if it has one."""
    info = group_info(client, events_stream, group)
    if info is None:
        return 0
    last = info["last-delivered-id"]
    if last in (b"0-0", "0-0"):
        return 0
    fields = entry_fields(wire or Wire.like(client), events_stream, last)
    return None if fields is None else int(fields[b"last_seq"])
