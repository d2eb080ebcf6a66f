"""Stream reads, parsed one way for every reader: XREADGROUP and XRANGE on the lean client."""

from __future__ import annotations

from typing import Any

import redis

from pipeline.streams import (
    delivered_seq,
    ensure_group,
    entry_fields,
    read_group,
    read_range,
    stream_id_key,
)
from pipeline.wire import Wire

STREAM = "ex:{t0}:streams-test"


def test_a_group_read_gives_new_entries_then_the_pending_ones_as_id_and_fields(
    rds: redis.Redis,
) -> None:
    ensure_group(rds, STREAM, "g")
    first = rds.xadd(STREAM, {"a": "1"})
    rds.xadd(STREAM, {"a": "2", "b": "x"})
    wire = Wire.like(rds)
    got = read_group(wire, STREAM, "g", "c", count=10, block_ms=10)
    assert [fields for _, fields in got] == [{b"a": b"1"}, {b"a": b"2", b"b": b"x"}]
    assert got[0][0] == first
    assert read_group(wire, STREAM, "g", "c", count=10, block_ms=10) == []
    assert read_group(wire, STREAM, "g", "c", count=10, block_ms=None, pending=True) == got


def test_a_pending_entry_trimmed_away_comes_back_without_fields(rds: redis.Redis) -> None:
    ensure_group(rds, STREAM, "g")
    entry_id = rds.xadd(STREAM, {"a": "1"})
    wire = Wire.like(rds)
    read_group(wire, STREAM, "g", "c", count=10, block_ms=10)
    rds.xdel(STREAM, entry_id)
    assert read_group(wire, STREAM, "g", "c", count=10, block_ms=None, pending=True) == [
        (entry_id, {})
    ]


def test_a_range_read_honours_exclusive_bounds_and_counts(rds: redis.Redis) -> None:
    ids: list[Any] = [rds.xadd(STREAM, {"n": str(n)}) for n in range(4)]
    wire = Wire.like(rds)
    after_first = read_range(wire, STREAM, b"(" + ids[0], "+", count=2)
    assert [entry_id for entry_id, _ in after_first] == ids[1:3]
    assert entry_fields(wire, STREAM, ids[3]) == {b"n": b"3"}
    rds.xdel(STREAM, ids[3])
    assert entry_fields(wire, STREAM, ids[3]) is None
    assert stream_id_key(ids[1]) < stream_id_key(ids[2])


def test_what_a_group_was_handed_is_the_last_seq_of_its_last_delivered_entry(
    rds: redis.Redis,
) -> None:
    assert delivered_seq(rds, STREAM, "g") == 0  # no stream yet
    ensure_group(rds, STREAM, "g")
    assert delivered_seq(rds, STREAM, "g") == 0  # nothing delivered
    rds.xadd(STREAM, {"last_seq": "7"})
    last = rds.xadd(STREAM, {"last_seq": "9"})
    read_group(Wire.like(rds), STREAM, "g", "c", count=10, block_ms=10)
    assert delivered_seq(rds, STREAM, "g") == 9
    rds.xdel(STREAM, last)
    assert delivered_seq(rds, STREAM, "g") is None  # trimmed away: cannot be told
