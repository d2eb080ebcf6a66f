"""What the persister and the market-data publisher use to consume a shard's events stream:
their consumer group, reads, acks, the persister's nudge, and where the group stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from pipeline.keys import shard_keys
from pipeline.streams import (
    EventBatch,
    delivered_seq,
    ensure_group,
    entry_fields,
    group_backlog,
    parse_event_entry,
    read_group,
)
from pipeline.wire import Wire


class EventReader:
    """What the persister and the market-data publisher use to consume an events stream."""

    def __init__(self, client: redis.Redis, shard: str, group: str, consumer: str) -> None:
        self.client = client
        self.keys = shard_keys(shard)
        self.group = group
        self.consumer = consumer
        # Reads go through the lean client, never retried: a read that may have been
        # delivered must not be asked for again as new (it stays pending instead).
        self.wire = Wire.like(client, retry=False)

    def setup(self) -> None:
        ensure_group(self.client, self.keys.events, self.group)

    def read(self, count: int, block_ms: int | None, pending: bool = False) -> list[EventBatch]:
        """Up to ``count`` entries; waits up to ``block_ms`` for new ones (None: no wait)."""
        found = read_group(
            self.wire, self.keys.events, self.group, self.consumer, count, block_ms, pending
        )
        return [parse_event_entry(entry_id, fields) for entry_id, fields in found]

    def entry(self, entry_id: bytes | str) -> EventBatch | None:
        """Entry ``entry_id`` of the stream, or None if it is not (or no longer) there."""
        fields = entry_fields(self.wire, self.keys.events, entry_id)
        if fields is None:
            return None
        key = entry_id if isinstance(entry_id, bytes) else entry_id.encode()
        return parse_event_entry(key, fields)

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
            oldest = entry_fields(self.wire, self.keys.events, summary["min"])
            return int(oldest[b"first_seq"]) - 1 if oldest is not None else None
        return delivered_seq(self.client, self.keys.events, self.group, self.wire)

    def lag(self) -> int:
        return group_backlog(self.client, self.keys.events, self.group)
