"""The publisher lingers after a read that was not full, so one read gathers several batches."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import redis
from django.conf import settings

from marketdata.frames import PublisherState
from marketdata.publisher import Publisher
from pipeline.event_reader import EventReader
from pipeline.matcher_transport import MatcherTransport
from pipeline.streams import PUBLISHER_GROUP
from tests.support.waiting import wait_until

LINGER_MS = 300


def test_a_batch_is_read_only_after_the_linger_when_it_follows_a_short_read(
    rds: redis.Redis, transport: MatcherTransport
) -> None:
    EventReader(rds, "t0", PUBLISHER_GROUP, "publisher").setup()
    publisher = Publisher(
        settings.REDIS_URL, PublisherState("t", {}, {}, {}), ["t0"], linger_ms=LINGER_MS
    )
    stop = threading.Event()
    runner = threading.Thread(target=asyncio.run, args=(publisher.run(stop.is_set),))
    runner.start()
    try:
        # given the publisher has just read a batch that did not fill its read
        transport.commit_batch([], b"1-0", 0, [], [])
        wait_until(lambda: publisher.stats["reads"] == 1, timeout=10, what="first read")
        first_read_at = time.monotonic()

        # when two more batches arrive at once
        transport.commit_batch([], b"2-0", 0, [], [])
        transport.commit_batch([], b"3-0", 0, [], [])

        # then they are read together, once the linger is over
        wait_until(lambda: publisher.stats["reads"] >= 2, timeout=10, what="second read")
        assert time.monotonic() - first_read_at >= LINGER_MS / 1000 * 0.9
        assert publisher.stats["reads"] == 2
        group = next(
            g
            for g in rds.xinfo_groups("ex:{t0}:events")
            if g["name"] in (PUBLISHER_GROUP, PUBLISHER_GROUP.encode())
        )
        newest: Any = rds.xrevrange("ex:{t0}:events", count=1)
        last_entry = newest[0][0]
        assert (group["last-delivered-id"], group["pending"]) == (last_entry, 0)
    finally:
        stop.set()
        runner.join(timeout=10)
