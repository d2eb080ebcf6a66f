"""What the matcher uses to talk to Redis: its consumer group on the command log, replay,
the atomic commit of a batch's outputs, heartbeats and snapshots.

A batch's outputs (its events entry, the replies, book depths, the "touched" marks) and the
XACK of its commands go out in one MULTI/EXEC: either the batch happened for every reader or
for none. Keys: ``pipeline.keys``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis

from matching.engine import Depth
from matching.events import Event
from pipeline.keys import shard_keys
from pipeline.packing import pack_depth, pack_events, packb, unpackb
from pipeline.streams import (
    MATCHER_GROUP,
    PERSISTER_GROUP,
    PUBLISHER_GROUP,
    Entry,
    ensure_group,
    read_group,
    read_range,
    stream_id_key,
)
from pipeline.wire import Wire, raise_if_error, require_supported_server

REPLY_TTL_S = 60
WRITES_TTL_MS = 86_400_000  # a user's writes hash (``ShardKeys.writes``), as the submit sets it


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

    def read_batch(self, count: int, block_ms: int, pending: bool = False) -> list[Entry]:
        """New commands (or, with ``pending``, those delivered before a crash and not acked)."""
        return read_group(
            self.wire, self.keys.commands, MATCHER_GROUP, self.consumer, count, block_ms, pending
        )

    def command_range(
        self, after: bytes | None, upto: bytes, count: int = 10_000
    ) -> Iterable[Entry]:
        """Commands with ``after < id <= upto``, oldest first, in pages."""
        start: str | bytes = "-" if after is None else b"(" + after
        while True:
            page = read_range(self.wire, self.keys.commands, start, upto, count)
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
